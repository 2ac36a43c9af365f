-- Medical service schema (MariaDB 10.11 / MySQL 8). DDL commits implicitly here, so every
-- statement can run again safely.
CREATE TABLE IF NOT EXISTS doctors (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(120) NOT NULL,
  specialty VARCHAR(64) NOT NULL,
  KEY idx_doctors_specialty (specialty)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS consultations (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  patient_rut VARCHAR(12) NOT NULL,
  doctor_id INT NOT NULL,
  date DATE NOT NULL,
  diagnosis VARCHAR(500) NOT NULL,
  treatment VARCHAR(500) NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY idx_consultations_patient (patient_rut, date),
  CONSTRAINT fk_consultations_doctor FOREIGN KEY (doctor_id) REFERENCES doctors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS availability (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  doctor_id INT NOT NULL,
  starts_at DATETIME NOT NULL,
  ends_at DATETIME NOT NULL,
  booked TINYINT(1) NOT NULL DEFAULT 0,
  KEY idx_availability_doctor (doctor_id, starts_at),
  CONSTRAINT fk_availability_doctor FOREIGN KEY (doctor_id) REFERENCES doctors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS idempotency_keys (
  idem_key VARCHAR(128) PRIMARY KEY,
  request_hash CHAR(16) NOT NULL,
  status SMALLINT NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
