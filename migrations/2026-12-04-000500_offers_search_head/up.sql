-- sort=relevance ranks on a small vector: the A and B parts of the search document (title;
-- tags, department and fields of study), about 250 bytes, kept inline in the row. Ranking
-- the whole `search` vector (about 1.2 kB, TOASTed) fetched and decompressed it for every
-- match. Filtering stays on `search` and its GIN index; `search_head` has no index and is
-- read only by ts_rank. Both are kept by the same trigger, so they cannot disagree.
ALTER TABLE offers ADD COLUMN search_head tsvector NOT NULL DEFAULT ''::tsvector;

CREATE OR REPLACE FUNCTION offers_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_head :=
        setweight(to_tsvector('passerelle_fr', NEW.title), 'A') ||
        setweight(to_tsvector('passerelle_fr',
            coalesce((SELECT string_agg(t, ' ') FROM jsonb_array_elements_text(NEW.tags) t), '')
            || ' ' || NEW.department || ' ' ||
            coalesce((SELECT string_agg(f, ' ') FROM jsonb_array_elements_text(NEW.fields_of_study) f), '')), 'B');
    NEW.search :=
        NEW.search_head ||
        setweight(to_tsvector('passerelle_fr', NEW.summary || ' ' ||
            coalesce((SELECT string_agg(m, ' ') FROM jsonb_array_elements_text(NEW.missions) m), '')), 'C') ||
        setweight(to_tsvector('passerelle_fr', NEW.context || ' ' || NEW.profile || ' ' || NEW.organization), 'D');
    RETURN NEW;
END
$$;

-- Fill it for the offers there are (the trigger computes both vectors again). The change
-- feed is not told: nothing a partner sees changes.
ALTER TABLE offers DISABLE TRIGGER offers_record_change;
UPDATE offers SET search_head = ''::tsvector;
ALTER TABLE offers ENABLE TRIGGER offers_record_change;
