-- Demo data: the demo patient 11111111-1 with payments and a pending invoice.
INSERT INTO patients (rut, name, birth_date, email, phone, insurance) VALUES
  ('11111111-1', 'Ana Pérez', '1980-02-03', 'ana.perez@example.org', '+56 9 1234 5678', 'FONASA'),
  ('22222222-2', 'Tomás González', '2018-07-14', 'familia.gonzalez@example.org', '+56 9 8765 4321', 'Isapre Colmena')
ON CONFLICT (rut) DO NOTHING;

INSERT INTO invoices (id, patient_rut, issued, due, amount, status) VALUES
  (1, '11111111-1', '2026-06-22', '2026-07-22', 25000, 'paid'),
  (2, '11111111-1', '2026-09-28', '2026-10-28', 18000, 'pending'),
  (3, '11111111-1', '2026-10-15', '2026-11-15', 42000, 'pending'),
  (4, '22222222-2', '2026-08-05', '2026-09-05', 15000, 'paid')
ON CONFLICT (id) DO NOTHING;

INSERT INTO payments (id, patient_rut, amount, concept, status, invoice_id, paid_at) VALUES
  (1, '11111111-1', 25000, 'Consulta cardiología', 'paid', 1, '2026-07-01 10:15:00-04'),
  (2, '22222222-2', 15000, 'Consulta pediatría', 'paid', 4, '2026-08-20 16:40:00-04')
ON CONFLICT (id) DO NOTHING;

-- Explicit ids above: move the sequences past them.
SELECT setval('invoices_id_seq', (SELECT MAX(id) FROM invoices));
SELECT setval('payments_id_seq', (SELECT MAX(id) FROM payments));
