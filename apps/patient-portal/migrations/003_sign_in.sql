-- Patients' sign-in: Argon2id password hashes, server-side sessions (the cookie holds a
-- random id; only its SHA-256 is stored), and failed attempts per RUT and per client address.
CREATE TABLE IF NOT EXISTS patient_credentials (
  rut VARCHAR(12) PRIMARY KEY,
  password_hash VARCHAR(255) NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS sessions (
  id_hash CHAR(64) PRIMARY KEY,
  rut VARCHAR(12) NOT NULL,
  csrf_token VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  last_seen_at DATETIME(3) NOT NULL,
  KEY idx_sessions_rut (rut),
  KEY idx_sessions_last_seen (last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS sign_in_failures (
  subject VARCHAR(80) PRIMARY KEY,
  failures INT NOT NULL,
  window_started DATETIME(3) NOT NULL,
  locked_until DATETIME(3) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
