-- Offers, French full-text search that ignores accents, the legal gratification minimum by
-- year, and a catalogue version that lets instances cache counts safely.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- French stemming after removing accents: "cooperation" finds "Coopération".
CREATE TEXT SEARCH CONFIGURATION passerelle_fr (COPY = french);
ALTER TEXT SEARCH CONFIGURATION passerelle_fr
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;

-- The legal minimum hourly gratification of an internship, by calendar year (Code de
-- l'éducation, art. D124-8: 15 % of the hourly social-security ceiling). Data, not code.
CREATE TABLE gratification_minimums (
    year integer PRIMARY KEY,
    hourly_cents integer NOT NULL CHECK (hourly_cents > 0)
);
INSERT INTO gratification_minimums (year, hourly_cents) VALUES
    (2024, 435), (2025, 450), (2026, 450);

CREATE TABLE offers (
    id uuid PRIMARY KEY,
    reference text NOT NULL,
    slug text NOT NULL,
    title text NOT NULL,
    language text NOT NULL,
    organization text NOT NULL,
    department text NOT NULL,
    summary text NOT NULL,
    context text NOT NULL,
    missions jsonb NOT NULL,
    profile text NOT NULL,
    -- The structured requirements as the API shows them, and flat copies for filtering.
    requirements jsonb NOT NULL,
    education_levels jsonb NOT NULL,
    fields_of_study jsonb NOT NULL,
    language_codes jsonb NOT NULL,
    contract_type text NOT NULL,
    duration_months_min integer NOT NULL,
    duration_months_max integer NOT NULL,
    work_time_percent integer NOT NULL,
    paid boolean NOT NULL,
    hourly_gratification_cents integer,
    starts_from date NOT NULL,
    ends_by date NOT NULL,
    remote text NOT NULL,
    location jsonb NOT NULL,
    contact jsonb NOT NULL,
    application_documents jsonb NOT NULL,
    application_deadline date NOT NULL,
    positions integer NOT NULL,
    tags jsonb NOT NULL,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'published', 'closed', 'archived')),
    published_at timestamptz,
    first_published_at timestamptz,
    closed_at timestamptz,
    archived_at timestamptz,
    created_at timestamptz NOT NULL,
    created_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL,
    updated_by uuid REFERENCES staff_users (id) ON DELETE SET NULL,
    -- Moves on every write: the ETag that If-Match compares.
    version integer NOT NULL DEFAULT 1,
    search tsvector NOT NULL DEFAULT ''::tsvector,
    CONSTRAINT offers_duration_rules CHECK (
        duration_months_min >= 1 AND duration_months_min <= duration_months_max
        AND duration_months_max <= 6 AND (paid OR duration_months_max <= 2)
    ),
    CONSTRAINT offers_published_have_a_date CHECK (status = 'draft' OR published_at IS NOT NULL)
);
CREATE UNIQUE INDEX offers_reference_key ON offers (reference);
CREATE UNIQUE INDEX offers_slug_key ON offers (slug);
-- For `slug LIKE 'base-%'` when choosing a free slug, whatever the collation.
CREATE INDEX offers_slug_pattern_idx ON offers (slug text_pattern_ops);

-- Public catalogue: the default order, the deadline order, and the filters.
CREATE INDEX offers_published_order_idx ON offers (published_at DESC, id DESC)
    WHERE status = 'published';
CREATE INDEX offers_published_deadline_idx ON offers (application_deadline, id)
    WHERE status = 'published';
CREATE INDEX offers_published_department_idx ON offers (department, published_at DESC, id DESC)
    WHERE status = 'published';
CREATE INDEX offers_search_idx ON offers USING gin (search);
CREATE INDEX offers_filters_idx ON offers
    USING gin (fields_of_study jsonb_path_ops, education_levels jsonb_path_ops,
               language_codes jsonb_path_ops, tags jsonb_path_ops)
    WHERE status = 'published';
-- Staff list: newest first.
CREATE INDEX offers_staff_order_idx ON offers (created_at DESC, id DESC);

-- The search document: title first, then tags, department and fields, then summary and
-- missions, then the rest. Kept by a trigger, as unaccent is not immutable.
CREATE FUNCTION offers_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('passerelle_fr', NEW.title), 'A') ||
        setweight(to_tsvector('passerelle_fr',
            coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(NEW.tags) t), '')
            || ' ' || NEW.department || ' ' ||
            coalesce((SELECT string_agg(f, ' ') FROM jsonb_array_elements_text(NEW.fields_of_study) f), '')), 'B') ||
        setweight(to_tsvector('passerelle_fr', NEW.summary || ' ' ||
            coalesce((SELECT string_agg(m, ' ') FROM jsonb_array_elements_text(NEW.missions) m), '')), 'C') ||
        setweight(to_tsvector('passerelle_fr', NEW.context || ' ' || NEW.profile || ' ' || NEW.organization), 'D');
    RETURN NEW;
END
$$;
CREATE TRIGGER offers_search_document BEFORE INSERT OR UPDATE ON offers
    FOR EACH ROW EXECUTE FUNCTION offers_search_document();

-- One row whose version moves with every change to offers, in the same transaction: an
-- instance may cache a count or facets for a version, and knows to recount when it moves.
CREATE TABLE catalog_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
);
INSERT INTO catalog_version (singleton, version) VALUES (true, 1);

CREATE FUNCTION offers_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_version SET version = version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER offers_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE ON offers
    FOR EACH STATEMENT EXECUTE FUNCTION offers_bump_catalog_version();
