-- The Directus tables that `prepfloor directus apply` writes, exactly as Directus 11.3.5
-- (`npx directus bootstrap`, PostgreSQL, last system migration 20240924B) creates them; taken
-- with `pg_dump --schema-only -t directus_collections -t directus_fields -t directus_relations`
-- (owner, schema prefix and the dump's session settings left out).  tests/test_directus.py makes
-- them on a migrated prepfloor database instead of installing Directus (Node) for each test.

CREATE TABLE directus_collections (
    collection character varying(64) NOT NULL,
    icon character varying(64),
    note text,
    display_template character varying(255),
    hidden boolean DEFAULT false NOT NULL,
    singleton boolean DEFAULT false NOT NULL,
    translations json,
    archive_field character varying(64),
    archive_app_filter boolean DEFAULT true NOT NULL,
    archive_value character varying(255),
    unarchive_value character varying(255),
    sort_field character varying(64),
    accountability character varying(255) DEFAULT 'all'::character varying,
    color character varying(255),
    item_duplication_fields json,
    sort integer,
    "group" character varying(64),
    collapse character varying(255) DEFAULT 'open'::character varying NOT NULL,
    preview_url character varying(255),
    versioning boolean DEFAULT false NOT NULL
);

CREATE TABLE directus_fields (
    id integer NOT NULL,
    collection character varying(64) NOT NULL,
    field character varying(64) NOT NULL,
    special character varying(64),
    interface character varying(64),
    options json,
    display character varying(64),
    display_options json,
    readonly boolean DEFAULT false NOT NULL,
    hidden boolean DEFAULT false NOT NULL,
    sort integer,
    width character varying(30) DEFAULT 'full'::character varying,
    translations json,
    note text,
    conditions json,
    required boolean DEFAULT false,
    "group" character varying(64),
    validation json,
    validation_message text
);

CREATE SEQUENCE directus_fields_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE directus_fields_id_seq OWNED BY directus_fields.id;

CREATE TABLE directus_relations (
    id integer NOT NULL,
    many_collection character varying(64) NOT NULL,
    many_field character varying(64) NOT NULL,
    one_collection character varying(64),
    one_field character varying(64),
    one_collection_field character varying(64),
    one_allowed_collections text,
    junction_field character varying(64),
    sort_field character varying(64),
    one_deselect_action character varying(255) DEFAULT 'nullify'::character varying NOT NULL
);

CREATE SEQUENCE directus_relations_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE directus_relations_id_seq OWNED BY directus_relations.id;

ALTER TABLE ONLY directus_fields ALTER COLUMN id SET DEFAULT nextval('directus_fields_id_seq'::regclass);

ALTER TABLE ONLY directus_relations ALTER COLUMN id SET DEFAULT nextval('directus_relations_id_seq'::regclass);

ALTER TABLE ONLY directus_collections
    ADD CONSTRAINT directus_collections_pkey PRIMARY KEY (collection);

ALTER TABLE ONLY directus_fields
    ADD CONSTRAINT directus_fields_pkey PRIMARY KEY (id);

ALTER TABLE ONLY directus_relations
    ADD CONSTRAINT directus_relations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY directus_collections
    ADD CONSTRAINT directus_collections_group_foreign FOREIGN KEY ("group") REFERENCES directus_collections(collection);
