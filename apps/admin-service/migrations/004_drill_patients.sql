-- Two patients for chaos drills (medgate-drill writes its keyed payments, consultations and
-- appointments for them), so drills never add rows to the demo patients' records.
INSERT INTO patients (rut, name, birth_date, email, phone, insurance) VALUES
  ('33333333-3', 'Paciente de simulacro 1', '1990-01-01', NULL, NULL, NULL),
  ('44444444-4', 'Paciente de simulacro 2', '1990-01-01', NULL, NULL, NULL)
ON CONFLICT (rut) DO NOTHING;
