DROP TABLE events;
DROP FUNCTION storefront_number_event();
DROP SEQUENCE events_id_seq;
