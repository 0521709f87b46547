-- POST /api/v1/staff/offers: the slug look-up of every create (model.rs unique_slug), as
-- diesel writes it, for the most repeated title of the generated catalogue.
SELECT offers.slug FROM offers WHERE ((offers.slug = 'stage-communication-d-un-equipement-culturel' OR offers.slug LIKE 'stage-communication-d-un-equipement-culturel-%') AND offers.id != '00000000-0000-0000-0000-000000000000');
