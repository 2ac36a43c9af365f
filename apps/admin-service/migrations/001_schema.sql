-- Administrative service schema (PostgreSQL 15). Each migration runs in one transaction.
CREATE TABLE IF NOT EXISTS patients (
  rut VARCHAR(12) PRIMARY KEY,
  name VARCHAR(120) NOT NULL,
  birth_date DATE,
  email VARCHAR(200),
  phone VARCHAR(40),
  insurance VARCHAR(60),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS payments (
  id BIGSERIAL PRIMARY KEY,
  patient_rut VARCHAR(12) NOT NULL REFERENCES patients (rut),
  amount BIGINT NOT NULL CHECK (amount > 0),
  concept VARCHAR(200) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'refunded')),
  invoice_id BIGINT,
  paid_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_payments_patient ON payments (patient_rut, paid_at);

CREATE TABLE IF NOT EXISTS invoices (
  id BIGSERIAL PRIMARY KEY,
  patient_rut VARCHAR(12) NOT NULL REFERENCES patients (rut),
  issued DATE NOT NULL,
  due DATE NOT NULL,
  amount BIGINT NOT NULL CHECK (amount > 0),
  status VARCHAR(16) NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid'))
);
CREATE INDEX IF NOT EXISTS idx_invoices_patient ON invoices (patient_rut, issued);

CREATE TABLE IF NOT EXISTS idempotency_keys (
  idem_key VARCHAR(128) PRIMARY KEY,
  request_hash CHAR(16) NOT NULL,
  status SMALLINT NOT NULL,
  body TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
