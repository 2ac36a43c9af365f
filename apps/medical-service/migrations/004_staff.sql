-- Staff identity: a staff token's subject names a member of staff, and a doctor's subject the
-- doctor a consultation is written by (never a doctor_id the caller picks). recorded_by keeps
-- the subject of the token that wrote each consultation.
CREATE TABLE IF NOT EXISTS staff (
  subject VARCHAR(128) PRIMARY KEY,
  name VARCHAR(120) NOT NULL,
  doctor_id INT NULL,
  UNIQUE KEY uq_staff_doctor (doctor_id),
  CONSTRAINT fk_staff_doctor FOREIGN KEY (doctor_id) REFERENCES doctors (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

INSERT IGNORE INTO staff (subject, name, doctor_id) VALUES
  ('dr-soto', 'Dra. Camila Soto', 1),
  ('dr-rojas', 'Dr. Matías Rojas', 2),
  ('dr-munoz', 'Dra. Valentina Muñoz', 3),
  ('dr-diaz', 'Dr. Benjamín Díaz', 4);

ALTER TABLE consultations ADD COLUMN IF NOT EXISTS recorded_by VARCHAR(128) NULL;
