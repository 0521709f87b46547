CREATE OR REPLACE FUNCTION offers_search_document() RETURNS trigger LANGUAGE plpgsql AS $$
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
ALTER TABLE offers DROP COLUMN search_head;
