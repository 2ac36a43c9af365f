-- The demo history in Spanish, as the hospital writes it. Only rows that still hold the
-- original English demo text change: a history edited since is left as it is.
UPDATE consultations SET diagnosis = 'Bronquitis aguda',
  treatment = 'Reposo, líquidos y salbutamol 2 inhalaciones cada 6 horas por 5 días'
  WHERE id = 1 AND diagnosis = 'Acute bronchitis';
UPDATE consultations SET diagnosis = 'Hipertensión arterial etapa 1',
  treatment = 'Losartán 50 mg al día; dieta baja en sodio; control en 3 meses'
  WHERE id = 2 AND diagnosis = 'Stage 1 hypertension';
UPDATE consultations SET diagnosis = 'Hipertensión arterial controlada',
  treatment = 'Continuar losartán 50 mg al día'
  WHERE id = 3 AND diagnosis = 'Hypertension, controlled';
UPDATE consultations SET diagnosis = 'Otitis media aguda',
  treatment = 'Amoxicilina 500 mg cada 8 horas por 7 días'
  WHERE id = 4 AND diagnosis = 'Otitis media';
