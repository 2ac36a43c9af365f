-- Appointments booked on a doctor's free slot (the medical service's availability): the
-- doctor and the slot, and `slot_taken`, the slot while the appointment holds it (NULL once
-- cancelled), unique, so two patients racing for one slot get one booking.
ALTER TABLE appointments
  ADD COLUMN doctor_id BIGINT NULL,
  ADD COLUMN slot_id BIGINT NULL,
  ADD COLUMN slot_taken BIGINT NULL,
  ADD UNIQUE KEY uq_appointments_slot_taken (slot_taken);
