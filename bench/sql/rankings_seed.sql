-- The data of bench/rankings.sh, written straight into the tables (deterministic: ids and
-- scores are hashes of the row numbers). psql variables:
--   :offer_id   the offer, a quoted uuid literal
--   :reviewers  the 3 reviewers' emails, a quoted, comma-separated text literal
--   :n          applications (500)
--   :doc_kib    size of each of the 2 documents of an application, in KiB (incompressible)
-- Columns from migrations/2026-12-01-000004_applications and 000006_reviews.
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO offer_reviewers (offer_id, reviewer_id, assigned_at)
SELECT :offer_id, id, now() FROM staff_users
WHERE email = ANY (string_to_array(:reviewers, ','));

DELETE FROM review_criteria WHERE offer_id = :offer_id;
INSERT INTO review_criteria (offer_id, key, label, weight, position) VALUES
    (:offer_id, 'motivation', 'Motivation pour le service public', 3, 0),
    (:offer_id, 'formation', 'Formation et niveau d''études', 2, 1),
    (:offer_id, 'competences', 'Compétences attendues', 3, 2),
    (:offer_id, 'langues', 'Langues', 1, 3),
    (:offer_id, 'disponibilite', 'Disponibilités', 1, 4);

INSERT INTO applications (id, offer_id, status, first_name, last_name, email, phone, school,
    field_of_study, languages, message, tracking_token_hash, education_level, available_from,
    available_until, source, consent_privacy, privacy_notice_version, consent_talent_pool,
    rejection_reason, decided_at, last_contact_at, created_at, updated_at)
SELECT md5('bench-application-' || g)::uuid, :offer_id,
       (ARRAY['submitted', 'submitted', 'submitted', 'submitted', 'submitted', 'submitted',
              'screening', 'screening', 'shortlisted', 'rejected'])[1 + g % 10],
       (ARRAY['Camille', 'Léa', 'Inès', 'Hugo', 'Karim', 'Zoé', 'Mehdi', 'Claire'])[1 + g % 8],
       'Candidat' || g,
       'candidat' || g || '@example.org',
       '06 12 34 ' || lpad((g % 100)::text, 2, '0') || ' 00',
       'Université Grenoble Alpes', 'Politiques publiques',
       '[{"code": "en", "level": "B2"}]'::jsonb,
       'Je suis très intéressé(e) par cette offre et disponible dès le printemps.',
       decode(md5('bench-token-' || g), 'hex'),
       (ARRAY['licence_3', 'master_1', 'master_2'])[1 + g % 3],
       DATE '2027-03-01', DATE '2027-08-31',
       (ARRAY['site', 'jobteaser', 'welcome-to-the-jungle', NULL])[1 + g % 4],
       true, '2026-11', g % 3 = 0,
       CASE WHEN g % 10 = 9 THEN 'profile_mismatch' END,
       CASE WHEN g % 10 = 9 THEN now() END,
       now() - g * interval '7 minutes',
       now() - g * interval '7 minutes',
       now() - g * interval '7 minutes'
FROM generate_series(1, :n) AS g;

INSERT INTO application_events (application_id, at, actor_kind, to_status)
SELECT id, created_at, 'candidate', 'submitted' FROM applications WHERE offer_id = :offer_id;

-- Two documents per application, of md5 output: random-looking bytes that do not compress,
-- so each one sits in TOAST at its full size, as a real PDF would.
INSERT INTO application_documents (id, application_id, kind, filename, content_type, size,
    sha256, content, created_at)
SELECT md5(a.id::text || k.kind)::uuid, a.id, k.kind, k.kind || '.pdf', 'application/pdf',
       :doc_kib * 1024, sha256(c.bytes), c.bytes, a.created_at
FROM applications a
CROSS JOIN (VALUES ('cv'), ('cover_letter')) AS k (kind)
CROSS JOIN LATERAL (
    SELECT decode(string_agg(md5(a.id::text || k.kind || i), ''), 'hex') AS bytes
    FROM generate_series(1, :doc_kib * 64) AS i
) AS c
WHERE a.offer_id = :offer_id;

-- One review per reviewer and application, a score 1..5 per criterion.
INSERT INTO reviews (id, application_id, reviewer_id, scores, recommendation, comment,
    created_at, updated_at)
SELECT md5(a.id::text || r.id::text)::uuid, a.id, r.id,
       (SELECT jsonb_object_agg(c.key, 1 + abs(hashtext(a.id::text || r.id::text || c.key)) % 5)
          FROM review_criteria c WHERE c.offer_id = :offer_id),
       (ARRAY['strong_no', 'no', 'yes', 'strong_yes'])[1 + abs(hashtext(a.id::text || r.id::text)) % 4],
       'Dossier relu.', a.created_at + interval '1 day', a.created_at + interval '1 day'
FROM applications a
CROSS JOIN offer_reviewers o
JOIN staff_users r ON r.id = o.reviewer_id
WHERE a.offer_id = :offer_id AND o.offer_id = :offer_id;

COMMIT;

VACUUM ANALYZE applications;
VACUUM ANALYZE application_documents;
VACUUM ANALYZE reviews;
VACUUM ANALYZE review_criteria;
VACUUM ANALYZE offer_reviewers;

SELECT (SELECT count(*) FROM applications WHERE offer_id = :offer_id) AS applications,
       (SELECT count(*) FROM reviews r JOIN applications a ON a.id = r.application_id
         WHERE a.offer_id = :offer_id) AS reviews,
       (SELECT count(*) FROM offer_reviewers WHERE offer_id = :offer_id) AS reviewers,
       (SELECT count(*) FROM review_criteria WHERE offer_id = :offer_id) AS criteria,
       (SELECT pg_size_pretty(pg_total_relation_size('application_documents'))) AS documents_on_disk;
