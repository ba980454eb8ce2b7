-- A PostgreSQL database as Directus 11 leaves it after an administrator created the seed's seven
-- collections (../shared/seed/user-stories.md) in the Data Model, before prepfloor: the tests of
-- `prepfloor db adopt` (tests/test_adopt.py) load it into an empty database.
--
-- The column types are the ones Directus 11.3 really creates on PostgreSQL (checked against a
-- running Directus 11.3.5: `pg_dump -s` after creating the collections through its API):
--   * a collection's key: `id integer` with its own sequence (`serial`), constraint `<t>_pkey`;
--   * String: character varying(255) (or the max length the admin typed); Text: text;
--   * Integer: integer; Float: real; Decimal: numeric(10,5); Boolean: boolean;
--   * Date: date; Time: time without time zone; Timestamp: timestamp with time zone;
--   * JSON: json; a relation to a user: uuid with a foreign key to directus_users;
--   * a Many-to-One: a foreign key named `<t>_<field>_foreign`, ON DELETE SET NULL;
--   * every field is nullable unless the admin unticked "Nullable" (here: cars.status).
-- Of Directus's own tables only directus_roles and directus_users are here (what prepfloor reads);
-- directus_users has the columns of Directus 11.3 plus one field the admin added: dealership_id.
--
-- Rows: two roles, three users (one suspended), a dealership, a resource type, a car, a booking,
-- the capacity row that booking holds, and a notification.

CREATE TABLE directus_roles (
    id uuid NOT NULL,
    name character varying(100) NOT NULL,
    icon character varying(64) DEFAULT 'supervised_user_circle'::character varying NOT NULL,
    description text,
    parent uuid,
    CONSTRAINT directus_roles_pkey PRIMARY KEY (id),
    CONSTRAINT directus_roles_parent_foreign FOREIGN KEY (parent) REFERENCES directus_roles (id)
);

CREATE TABLE directus_users (
    id uuid NOT NULL,
    first_name character varying(50),
    last_name character varying(50),
    email character varying(128),
    password character varying(255),
    location character varying(255),
    title character varying(50),
    description text,
    tags json,
    avatar uuid,
    language character varying(255) DEFAULT NULL::character varying,
    tfa_secret character varying(255),
    status character varying(16) DEFAULT 'active'::character varying NOT NULL,
    role uuid,
    token character varying(255),
    last_access timestamp with time zone,
    last_page character varying(255),
    provider character varying(128) DEFAULT 'default'::character varying NOT NULL,
    external_identifier character varying(255),
    auth_data json,
    email_notifications boolean DEFAULT true,
    appearance character varying(255),
    theme_dark character varying(255),
    theme_light character varying(255),
    theme_light_overrides json,
    theme_dark_overrides json,
    CONSTRAINT directus_users_pkey PRIMARY KEY (id),
    CONSTRAINT directus_users_email_unique UNIQUE (email),
    CONSTRAINT directus_users_external_identifier_unique UNIQUE (external_identifier),
    CONSTRAINT directus_users_token_unique UNIQUE (token),
    CONSTRAINT directus_users_role_foreign FOREIGN KEY (role) REFERENCES directus_roles (id)
        ON DELETE SET NULL
);

-- Collection 2: dealership
CREATE TABLE dealership (
    id serial NOT NULL,
    dealership_number character varying(20),
    dealership_name character varying(255),
    location character varying(255),
    dealership_type character varying(255) DEFAULT 'sales_and_prep'::character varying,
    brand character varying(255),
    does_own_prep boolean DEFAULT false,
    active boolean DEFAULT true,
    parent_dealership_id integer,
    prep_center_id integer,
    brand_colors json,
    logo character varying(500),  -- the admin set its max length to 500 (prepfloor's)
    CONSTRAINT dealership_pkey PRIMARY KEY (id),
    CONSTRAINT dealership_parent_dealership_id_foreign FOREIGN KEY (parent_dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT dealership_prep_center_id_foreign FOREIGN KEY (prep_center_id)
        REFERENCES dealership (id) ON DELETE SET NULL
);

-- the field the admin added to the users: their dealership (a Many-to-One)
ALTER TABLE directus_users ADD COLUMN dealership_id integer;
ALTER TABLE directus_users ADD CONSTRAINT directus_users_dealership_id_foreign
    FOREIGN KEY (dealership_id) REFERENCES dealership (id) ON DELETE SET NULL;

-- Collection 4: resource_types
CREATE TABLE resource_types (
    id serial NOT NULL,
    code character varying(255),
    name character varying(255),
    description text,
    icon character varying(255),
    color character varying(255),
    active boolean DEFAULT true,
    is_productive boolean DEFAULT true,
    bookable boolean DEFAULT true,
    requires_assignment boolean DEFAULT false,
    default_duration_hours real DEFAULT '1'::real,
    CONSTRAINT resource_types_pkey PRIMARY KEY (id)
);

-- Collection 1: cars
CREATE TABLE cars (
    id serial NOT NULL,
    vin character varying(17),
    license_plate character varying(255),
    brand character varying(255),
    model character varying(255),
    model_year integer,
    color character varying(255),
    order_number character varying(255),
    customer_name character varying(255),
    customer_phone character varying(255),
    customer_email character varying(255),
    dealership_id integer,
    seller_id uuid,
    car_type character varying(255) DEFAULT 'new'::character varying,
    status character varying(255) DEFAULT 'draft'::character varying NOT NULL,
    registered_at timestamp with time zone,
    accessories json,
    seller_notes text,
    prep_center_id integer,
    scheduled_technical_date date,
    scheduled_technical_time time without time zone,
    scheduled_cosmetic_date date,
    scheduled_cosmetic_time time without time zone,
    estimated_technical_hours real,
    estimated_cosmetic_hours numeric(10,5),
    assigned_mechanic_id uuid,
    assigned_detailer_id uuid,
    parts_ordered_seller_at timestamp with time zone,
    parts_arrived_seller_at timestamp with time zone,
    parts_ordered_prep_at timestamp with time zone,
    parts_arrived_prep_at timestamp with time zone,
    parts_notes text,
    arrived_prep_center_at timestamp with time zone,
    inspection_completed_at timestamp with time zone,
    inspection_approved boolean,
    inspection_notes text,
    technical_started_at timestamp with time zone,
    technical_completed_at timestamp with time zone,
    cosmetic_started_at timestamp with time zone,
    cosmetic_completed_at timestamp with time zone,
    technical_notes text,
    cosmetic_notes text,
    ready_for_delivery_at timestamp with time zone,
    delivered_to_dealership_at timestamp with time zone,
    sold_at timestamp with time zone,
    delivered_to_customer_at timestamp with time zone,
    archived_at timestamp with time zone,
    CONSTRAINT cars_pkey PRIMARY KEY (id),
    CONSTRAINT cars_dealership_id_foreign FOREIGN KEY (dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT cars_prep_center_id_foreign FOREIGN KEY (prep_center_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT cars_seller_id_foreign FOREIGN KEY (seller_id)
        REFERENCES directus_users (id) ON DELETE SET NULL,
    CONSTRAINT cars_assigned_mechanic_id_foreign FOREIGN KEY (assigned_mechanic_id)
        REFERENCES directus_users (id) ON DELETE SET NULL,
    CONSTRAINT cars_assigned_detailer_id_foreign FOREIGN KEY (assigned_detailer_id)
        REFERENCES directus_users (id) ON DELETE SET NULL
);

-- Collection 3: notifications
CREATE TABLE notifications (
    id serial NOT NULL,
    user_id uuid,
    car_id integer,
    type character varying(255),
    message text,
    read boolean DEFAULT false,
    created_at timestamp with time zone,
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT notifications_user_id_foreign FOREIGN KEY (user_id)
        REFERENCES directus_users (id) ON DELETE SET NULL,
    CONSTRAINT notifications_car_id_foreign FOREIGN KEY (car_id)
        REFERENCES cars (id) ON DELETE SET NULL
);

-- Collection 5: resource_bookings
CREATE TABLE resource_bookings (
    id serial NOT NULL,
    car_id integer,
    resource_type_id integer,
    date date,
    start_time time without time zone,
    estimated_hours numeric(10,5),
    provider_dealership_id integer,
    consumer_dealership_id integer,
    user_id uuid,
    status character varying(255) DEFAULT 'scheduled'::character varying,
    actual_hours numeric(10,5),
    completed_at timestamp with time zone,
    notes text,
    CONSTRAINT resource_bookings_pkey PRIMARY KEY (id),
    CONSTRAINT resource_bookings_car_id_foreign FOREIGN KEY (car_id)
        REFERENCES cars (id) ON DELETE SET NULL,
    CONSTRAINT resource_bookings_resource_type_id_foreign FOREIGN KEY (resource_type_id)
        REFERENCES resource_types (id) ON DELETE SET NULL,
    CONSTRAINT resource_bookings_provider_dealership_id_foreign FOREIGN KEY (provider_dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT resource_bookings_consumer_dealership_id_foreign FOREIGN KEY (consumer_dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT resource_bookings_user_id_foreign FOREIGN KEY (user_id)
        REFERENCES directus_users (id) ON DELETE SET NULL
);

-- Collection 6: resource_capacities (available_hours: a plain field; Directus cannot compute it)
CREATE TABLE resource_capacities (
    id serial NOT NULL,
    dealership_id integer,
    resource_type_id integer,
    date date,
    allocated_hours real DEFAULT '0'::real,
    used_hours real DEFAULT '0'::real,
    available_hours real,
    user_id uuid,
    CONSTRAINT resource_capacities_pkey PRIMARY KEY (id),
    CONSTRAINT resource_capacities_dealership_id_foreign FOREIGN KEY (dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT resource_capacities_resource_type_id_foreign FOREIGN KEY (resource_type_id)
        REFERENCES resource_types (id) ON DELETE SET NULL,
    CONSTRAINT resource_capacities_user_id_foreign FOREIGN KEY (user_id)
        REFERENCES directus_users (id) ON DELETE SET NULL
);

-- Collection 7: resource_sharing
CREATE TABLE resource_sharing (
    id serial NOT NULL,
    provider_dealership_id integer,
    consumer_dealership_id integer,
    resource_type_id integer,
    enabled boolean DEFAULT true,
    max_hours_per_week real,
    priority integer DEFAULT 50,
    notes text,
    CONSTRAINT resource_sharing_pkey PRIMARY KEY (id),
    CONSTRAINT resource_sharing_provider_dealership_id_foreign FOREIGN KEY (provider_dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT resource_sharing_consumer_dealership_id_foreign FOREIGN KEY (consumer_dealership_id)
        REFERENCES dealership (id) ON DELETE SET NULL,
    CONSTRAINT resource_sharing_resource_type_id_foreign FOREIGN KEY (resource_type_id)
        REFERENCES resource_types (id) ON DELETE SET NULL
);

-- ---------------------------------------------------------------------------------------------
-- rows
-- ---------------------------------------------------------------------------------------------
INSERT INTO directus_roles (id, name, icon, description) VALUES
    ('ee2521fa-5c6f-409a-9223-3aabb9017275', 'Administrator', 'verified', '$t:admin_description'),
    ('5b0f2d8e-1c1a-4c55-9a51-3d6f0e7a8b21', 'Planner', 'event', 'Plans the prep center''s days');

INSERT INTO dealership (id, dealership_number, dealership_name, location, dealership_type, brand,
                        does_own_prep, active, brand_colors)
VALUES (1, '499', 'Porsgrunn', 'Porsgrunn', 'sales_and_prep', 'BMW', true, true,
        '{"primary": "#1c69d4"}');
SELECT setval('dealership_id_seq', 1);

INSERT INTO directus_users (id, first_name, last_name, email, password, status, role, provider,
                            dealership_id)
VALUES
    ('9fc15ba7-9f48-4bbe-930e-2b16a9cf6bb0', 'Ada', 'Admin', 'ada@example.com',
     '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g', 'active',
     'ee2521fa-5c6f-409a-9223-3aabb9017275', 'default', NULL),
    ('2d3c4b5a-6978-4a1b-8c2d-3e4f5a6b7c8d', 'Per', 'Planner', 'per.planner@example.com',
     '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g', 'active',
     '5b0f2d8e-1c1a-4c55-9a51-3d6f0e7a8b21', 'default', 1),
    ('7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d', 'Siri', 'Suspended', 'siri@example.com',
     '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g', 'suspended',
     '5b0f2d8e-1c1a-4c55-9a51-3d6f0e7a8b21', 'default', 1);

INSERT INTO resource_types (id, code, name, description, active, is_productive, bookable,
                            requires_assignment, default_duration_hours)
VALUES (1, 'TECH_PREP', 'Technical Preparation', 'Service, software, accessories', true, true,
        true, false, 2);
SELECT setval('resource_types_id_seq', 1);

INSERT INTO cars (id, vin, license_plate, brand, model, model_year, color, order_number,
                  customer_name, dealership_id, seller_id, car_type, status, registered_at,
                  accessories, prep_center_id, estimated_technical_hours)
VALUES (1, 'WBA11AA0X0H000001', 'EL 12345', 'BMW', 'iX1', 2026, 'Black', 'ORD-1001',
        'Kari Nordmann', 1, '2d3c4b5a-6978-4a1b-8c2d-3e4f5a6b7c8d', 'new', 'registered',
        '2026-11-02 09:15:00+00', '["towbar"]', 1, 2.5);
SELECT setval('cars_id_seq', 1);

INSERT INTO resource_bookings (id, car_id, resource_type_id, date, start_time, estimated_hours,
                               provider_dealership_id, consumer_dealership_id, status, notes)
VALUES (1, 1, 1, '2030-01-07', '08:00', 2.5, 1, 1, 'scheduled', 'Booked in Directus');
SELECT setval('resource_bookings_id_seq', 1);

INSERT INTO resource_capacities (id, dealership_id, resource_type_id, date, allocated_hours,
                                 used_hours, available_hours)
VALUES (1, 1, 1, '2030-01-07', 8, 2.5, 5.5);
SELECT setval('resource_capacities_id_seq', 1);

INSERT INTO notifications (id, user_id, car_id, type, message, read, created_at)
VALUES (1, '2d3c4b5a-6978-4a1b-8c2d-3e4f5a6b7c8d', 1, 'new_order', 'New order ORD-1001', false,
        '2026-11-02 09:15:01+00');
SELECT setval('notifications_id_seq', 1);
