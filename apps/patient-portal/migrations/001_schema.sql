-- Patient portal schema (MySQL 8 in containers; MariaDB locally). Re-runnable.
CREATE TABLE IF NOT EXISTS appointments (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  patient_rut VARCHAR(12) NOT NULL,
  specialty VARCHAR(64) NOT NULL,
  starts_at DATETIME NOT NULL,
  reason VARCHAR(300) NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'booked',
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  cancelled_at DATETIME NULL,
  KEY idx_appointments_patient (patient_rut, starts_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS idempotency_keys (
  idem_key VARCHAR(128) PRIMARY KEY,
  request_hash CHAR(16) NOT NULL,
  status SMALLINT NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
