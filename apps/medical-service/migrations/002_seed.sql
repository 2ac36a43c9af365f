-- Demo data: doctors, the demo patient 11111111-1's history, open slots from tomorrow.
-- Explicit ids + INSERT IGNORE: running it twice changes nothing.
INSERT IGNORE INTO doctors (id, name, specialty) VALUES
  (1, 'Dra. Camila Soto', 'cardiology'),
  (2, 'Dr. Matías Rojas', 'general'),
  (3, 'Dra. Valentina Muñoz', 'pediatrics'),
  (4, 'Dr. Benjamín Díaz', 'dermatology');

INSERT IGNORE INTO consultations (id, patient_rut, doctor_id, date, diagnosis, treatment) VALUES
  (1, '11111111-1', 2, '2026-03-10', 'Acute bronchitis', 'Rest, fluids, salbutamol 2 puffs every 6 h for 5 days'),
  (2, '11111111-1', 1, '2026-06-22', 'Stage 1 hypertension', 'Losartan 50 mg daily; low-sodium diet; control in 3 months'),
  (3, '11111111-1', 1, '2026-09-28', 'Hypertension, controlled', 'Continue losartan 50 mg daily'),
  (4, '22222222-2', 3, '2026-08-05', 'Otitis media', 'Amoxicillin 500 mg every 8 h for 7 days');

INSERT IGNORE INTO availability (id, doctor_id, starts_at, ends_at) VALUES
  (1, 1, DATE_ADD(CURDATE(), INTERVAL 1 DAY) + INTERVAL 9 HOUR, DATE_ADD(CURDATE(), INTERVAL 1 DAY) + INTERVAL 570 MINUTE),
  (2, 1, DATE_ADD(CURDATE(), INTERVAL 1 DAY) + INTERVAL 10 HOUR, DATE_ADD(CURDATE(), INTERVAL 1 DAY) + INTERVAL 630 MINUTE),
  (3, 2, DATE_ADD(CURDATE(), INTERVAL 2 DAY) + INTERVAL 15 HOUR, DATE_ADD(CURDATE(), INTERVAL 2 DAY) + INTERVAL 930 MINUTE),
  (4, 3, DATE_ADD(CURDATE(), INTERVAL 3 DAY) + INTERVAL 11 HOUR, DATE_ADD(CURDATE(), INTERVAL 3 DAY) + INTERVAL 690 MINUTE);
