#!/usr/bin/env python3
"""Deterministic generator of realistic French internship offers for the benchmark.

Writes a JSON array of N offers (default 10,000) in the exact shape of
demo/grenoble-offer.json (the body of POST /api/v1/staff/offers). Same seed, same output:
no network; the dates are relative to --today (default: the day it runs), so a given seed and
day always give the same file and the deadlines never lie in the past.

The offers follow the rules of src/offers/domain.rs: at most 6 months, paid above 2 months
with at least 4.50 EUR per hour, gratification null when unpaid, a window that holds the
shortest duration, unique references, enums from the lists in domain.rs, deadlines in the
future (starts between 3 and 23 months after --today).

    python3 bench/generate_offers.py                 # 10,000 offers to stdout
    python3 bench/generate_offers.py -n 500 -o /tmp/offers.json --seed 7
"""

import argparse
import datetime as dt
import json
import random
import sys
import unicodedata

EDUCATION_LEVELS = ["bac", "bac_1", "bac_2", "bac_3", "licence_3", "master_1", "master_2", "doctorate"]
CEFR = ["A1", "A2", "B1", "B2", "C1", "C2"]

# Twelve departments, each with its own vocabulary. Shares of the catalogue are uneven, as in
# a real city (culture and education publish more than legal affairs).
DEPARTMENTS = [
    {
        "code": "VO", "name": "Direction Ville Ouverte", "weight": 8,
        "themes": ["Coopération décentralisée", "Jumelages et partenariats européens", "Relations internationales",
                   "Solidarité internationale", "Accueil de délégations étrangères", "Coopération franco-allemande",
                   "Programmation internationale", "Mobilité européenne des jeunes"],
        "places": ["zone Maghreb", "Afrique de l'Ouest", "Europe", "Amérique latine", "Proche-Orient", "Essen",
                   "Bethléem", "Tiznit", "Sfax", "Ouagadougou", "Kaunas", "Rehovot"],
        "fields": ["sciences politiques", "coopération internationale", "études européennes", "développement local",
                   "relations internationales", "langues étrangères appliquées"],
        "tags": ["coopération", "coopération décentralisée", "jumelage", "Europe", "Erasmus+", "solidarité internationale",
                 "Maghreb", "franco-allemand", "délégations", "international"],
        "skills": ["gestion de projet", "suivi budgétaire", "rédaction de dossiers de subvention", "interculturalité"],
        "nouns": ["coopération", "partenariat", "jumelage", "délégation", "collectivités partenaires", "bailleurs de fonds"],
        "langs": ["en", "de", "es", "ar", "it", "pt"],
    },
    {
        "code": "CUL", "name": "Direction de la Culture", "weight": 14,
        "themes": ["Médiation culturelle", "Lecture publique", "Programmation d'un festival", "Patrimoine et archives",
                   "Éducation artistique et culturelle", "Action culturelle hors les murs", "Régie d'exposition",
                   "Communication d'un équipement culturel"],
        "places": ["Musée de Grenoble", "bibliothèques municipales", "Conservatoire", "Archives municipales",
                   "Muséum d'histoire naturelle", "Théâtre municipal", "quartier Villeneuve", "Maison de l'International"],
        "fields": ["médiation culturelle", "histoire de l'art", "culture", "métiers du livre", "lettres",
                   "gestion de projets culturels", "archivistique"],
        "tags": ["culture", "médiation culturelle", "musée", "bibliothèques", "lecture publique", "festival",
                 "patrimoine", "publics éloignés", "accessibilité", "arts visuels"],
        "skills": ["animation de groupe", "conception d'ateliers", "FALC", "régie", "rédaction"],
        "nouns": ["publics", "collections", "ateliers", "expositions", "programmation", "artistes"],
        "langs": ["en", "it", "es", "de"],
    },
    {
        "code": "ENV", "name": "Direction de l'Environnement et de la Transition écologique", "weight": 10,
        "themes": ["Biodiversité urbaine", "Plan climat", "Agriculture urbaine", "Qualité de l'air",
                   "Gestion des déchets et compostage", "Sobriété énergétique", "Îlots de fraîcheur",
                   "Sciences participatives"],
        "places": ["parcs et jardins", "Bastille", "Isère", "quartiers sud", "écoles", "jardins partagés"],
        "fields": ["écologie", "biologie de la conservation", "géomatique", "environnement", "énergétique",
                   "gestion et protection de la nature", "aménagements paysagers"],
        "tags": ["biodiversité", "écologie urbaine", "climat", "transition écologique", "compostage", "SIG",
                 "nature en ville", "énergie", "données naturalistes", "participation citoyenne"],
        "skills": ["SIG", "inventaires naturalistes", "analyse de données", "animation", "bilan carbone"],
        "nouns": ["biodiversité", "climat", "habitants", "inventaires", "espaces verts", "énergie"],
        "langs": ["en", "de", "it"],
    },
    {
        "code": "DSI", "name": "Direction des Systèmes d'Information", "weight": 9,
        "themes": ["Développement d'applications web", "Open data et visualisation", "Administration systèmes et réseaux",
                   "Support aux utilisateurs", "Sécurité des systèmes d'information", "Science des données",
                   "Numérique responsable", "Logiciels libres"],
        "places": ["plateforme open data", "portail citoyen", "centre de services", "infrastructure", "applications métiers"],
        "fields": ["informatique", "science des données", "réseaux et télécommunications", "cybersécurité",
                   "génie logiciel", "statistique"],
        "tags": ["numérique", "open data", "données", "API", "logiciels libres", "développement", "cybersécurité",
                 "numérique responsable", "support informatique", "cloud"],
        "skills": ["Python", "Rust", "PostgreSQL", "JavaScript", "Linux", "Git", "administration réseau"],
        "nouns": ["applications", "données", "utilisateurs", "serveurs", "services numériques", "jeux de données"],
        "langs": ["en"],
    },
    {
        "code": "EDU", "name": "Direction de l'Éducation et de la Jeunesse", "weight": 11,
        "themes": ["Projet éducatif de territoire", "Animation périscolaire", "Politique jeunesse",
                   "Restauration scolaire", "Conseil municipal d'enfants", "Accompagnement à la scolarité",
                   "Information jeunesse", "Numérique éducatif"],
        "places": ["écoles élémentaires", "maisons des habitants", "centres de loisirs", "quartiers prioritaires",
                   "Bureau Information Jeunesse"],
        "fields": ["sciences de l'éducation", "éducation populaire", "animation sociale", "psychologie",
                   "sociologie"],
        "tags": ["éducation", "jeunesse", "périscolaire", "enfance", "coéducation", "animation",
                 "projet éducatif de territoire", "citoyenneté", "numérique"],
        "skills": ["animation de groupe", "pédagogie", "conduite de réunion", "écoute"],
        "nouns": ["enfants", "jeunes", "familles", "écoles", "animateurs", "parents"],
        "langs": ["en", "es", "ar"],
    },
    {
        "code": "SPO", "name": "Direction des Sports", "weight": 7,
        "themes": ["Événementiel sportif", "Sport santé", "Sport au féminin", "Gestion d'équipements sportifs",
                   "Vie associative sportive", "Activités nautiques"],
        "places": ["Palais des sports", "piscines municipales", "stades", "gymnases", "parc Paul Mistral"],
        "fields": ["STAPS", "management du sport", "sport et santé", "gestion des organisations"],
        "tags": ["sport", "événementiel", "sport santé", "STAPS", "sport au féminin", "bénévolat",
                 "associations", "équipements sportifs"],
        "skills": ["organisation d'événements", "encadrement", "gestion de planning"],
        "nouns": ["clubs", "événements", "équipements", "bénévoles", "pratiquants"],
        "langs": ["en", "es"],
    },
    {
        "code": "RH", "name": "Direction des Ressources Humaines", "weight": 6,
        "themes": ["Qualité de vie au travail", "Recrutement et marque employeur", "Formation des agents",
                   "Égalité professionnelle", "Gestion prévisionnelle des emplois", "Santé et prévention"],
        "places": ["service recrutement", "service formation", "mission égalité", "médecine préventive"],
        "fields": ["ressources humaines", "psychologie du travail", "management public", "droit social"],
        "tags": ["ressources humaines", "qualité de vie au travail", "marque employeur", "égalité professionnelle",
                 "fonction publique territoriale", "formation", "prévention"],
        "skills": ["entretiens", "tableaux de bord", "rédaction", "droit de la fonction publique"],
        "nouns": ["agents", "recrutements", "formations", "managers", "entretiens"],
        "langs": ["en"],
    },
    {
        "code": "COM", "name": "Direction de la Communication", "weight": 8,
        "themes": ["Communication numérique", "Réseaux sociaux", "Production vidéo", "Relations presse",
                   "Rédaction web", "Graphisme et identité visuelle", "Communication de crise"],
        "places": ["site de la Ville", "magazine municipal", "réseaux sociaux", "événements de la Ville"],
        "fields": ["communication", "journalisme", "graphisme", "audiovisuel", "information-communication"],
        "tags": ["communication", "réseaux sociaux", "numérique", "vidéo", "rédaction web", "graphisme",
                 "relations presse", "accessibilité"],
        "skills": ["rédaction", "montage vidéo", "PAO", "photographie", "community management"],
        "nouns": ["contenus", "campagnes", "publications", "journalistes", "habitants"],
        "langs": ["en", "es", "it"],
    },
    {
        "code": "URB", "name": "Direction de l'Urbanisme", "weight": 8,
        "themes": ["Renouvellement urbain", "Planification urbaine", "Concertation et participation",
                   "Espaces publics", "Mobilités douces", "Adaptation au changement climatique", "Logement"],
        "places": ["quartier Mistral", "Presqu'île", "Villeneuve", "centre-ville", "Esplanade", "Abbaye"],
        "fields": ["urbanisme", "aménagement du territoire", "architecture", "géographie", "paysage"],
        "tags": ["urbanisme", "renouvellement urbain", "concertation", "diagnostic territorial", "cartographie",
                 "mobilités", "logement", "espaces publics"],
        "skills": ["SIG", "cartographie", "animation de réunions publiques", "dessin", "AutoCAD"],
        "nouns": ["projets urbains", "habitants", "espaces publics", "diagnostics", "quartiers"],
        "langs": ["en", "it", "de"],
    },
    {
        "code": "CCAS", "name": "CCAS – Action sociale", "weight": 8,
        "themes": ["Accès aux droits", "Lutte contre le non-recours", "Accompagnement des personnes âgées",
                   "Hébergement d'urgence", "Observatoire social", "Aide alimentaire", "Handicap et inclusion"],
        "places": ["permanences sociales", "résidences autonomie", "maisons des habitants", "accueil de jour"],
        "fields": ["action sociale", "économie sociale et familiale", "sociologie", "travail social",
                   "gérontologie"],
        "tags": ["action sociale", "accès aux droits", "non-recours", "CCAS", "solidarité", "permanences",
                 "inclusion", "seniors", "handicap"],
        "skills": ["accueil du public", "écoute", "enquêtes", "analyse statistique"],
        "nouns": ["usagers", "familles", "seniors", "partenaires sociaux", "permanences"],
        "langs": ["en", "ar", "es"],
    },
    {
        "code": "JUR", "name": "Direction des Affaires juridiques et de la Commande publique", "weight": 5,
        "themes": ["Commande publique", "Veille juridique", "Contentieux", "Assurances", "Achats responsables"],
        "places": ["service des marchés", "service juridique", "service des assemblées"],
        "fields": ["droit public", "droit des contrats publics", "droit des collectivités", "droit privé"],
        "tags": ["droit public", "commande publique", "marchés publics", "clauses sociales", "veille juridique",
                 "achats responsables", "contentieux"],
        "skills": ["rédaction juridique", "analyse des offres", "recherche documentaire"],
        "nouns": ["marchés", "contrats", "délibérations", "procédures", "contentieux"],
        "langs": ["en"],
    },
    {
        "code": "FIN", "name": "Direction des Finances", "weight": 6,
        "themes": ["Contrôle de gestion", "Budget participatif", "Analyse financière", "Recherche de financements",
                   "Fiscalité locale"],
        "places": ["service du budget", "mission contrôle de gestion", "service des subventions"],
        "fields": ["finances publiques", "économie", "gestion", "comptabilité publique"],
        "tags": ["finances", "budget", "contrôle de gestion", "budget participatif", "subventions",
                 "fonds européens", "tableaux de bord"],
        "skills": ["Excel", "analyse financière", "tableaux de bord", "comptabilité M57"],
        "nouns": ["budgets", "subventions", "dépenses", "indicateurs", "financeurs"],
        "langs": ["en", "de"],
    },
]

ORGANIZATIONS = [("Ville de Grenoble", 85), ("CCAS de Grenoble", 5), ("Grenoble-Alpes Métropole", 10)]

TITLE_PREFIXES = ["Stage – ", "Stage – ", "Stage – ", "Stagiaire – ", "Stage de fin d'études – "]

COMMON_TAGS = ["service public", "collectivité territoriale", "participation citoyenne", "transition",
               "égalité", "jeunesse", "numérique", "innovation publique", "coopération"]

GENERIC_SKILLS = ["gestion de projet", "rédaction", "travail en équipe", "Excel", "prise de parole",
                  "organisation", "esprit de synthèse"]

VERBS = ["Assister", "Contribuer à", "Participer à", "Appuyer", "Coordonner", "Accompagner",
         "Préparer", "Concevoir", "Suivre", "Animer", "Réaliser", "Analyser"]

MISSION_OBJECTS = [
    "le montage et le suivi des projets de {noun}",
    "l'organisation d'événements avec les {noun}",
    "la rédaction de notes, de bilans et de comptes rendus sur les {noun}",
    "la mise à jour des tableaux de bord et des indicateurs de suivi des {noun}",
    "la préparation des réunions avec les {noun} et les élus",
    "la conception d'outils de communication à destination des {noun}",
    "l'évaluation des actions menées auprès des {noun}",
    "une veille sur les pratiques d'autres collectivités en matière de {theme}",
    "la recherche de financements pour les projets de {theme}",
    "la réalisation d'un diagnostic sur {theme_lower} dans les quartiers",
    "l'animation d'ateliers participatifs sur {theme_lower}",
    "le dialogue entre les services de la Ville et les {noun}",
]

CONTEXTS = [
    "La {org} conduit une politique de {theme_lower} ambitieuse, au service de toutes et tous, avec les {noun} du territoire.",
    "Au sein de la {dept}, le ou la stagiaire rejoindra une équipe de {n} agents engagés dans {theme_lower}.",
    "La {dept} met en œuvre les orientations du mandat en matière de {theme_lower} et travaille en lien étroit avec les associations et les autres collectivités.",
    "Le service porte des projets transversaux qui associent les habitants, les {noun} et les partenaires institutionnels.",
    "Grenoble, capitale verte européenne 2022, fait de la transition écologique et de la participation citoyenne le fil conducteur de ses politiques publiques.",
    "La collectivité s'attache à rendre ses services accessibles, à lutter contre les inégalités et à ouvrir ses données.",
]

PROFILES = [
    "Étudiant(e) en {level_label}, idéalement en {field}. Rigueur, autonomie et sens du service public.",
    "Formation en {field} ({level_label}). Intérêt pour les politiques publiques locales, aisance rédactionnelle, esprit d'équipe.",
    "Vous préparez un diplôme de niveau {level_label} en {field}. Curiosité, capacité d'analyse, goût pour le travail avec les {noun}.",
    "Étudiant(e) de niveau {level_label}. Une première expérience en {field} serait appréciée. Dynamique, organisé(e), force de proposition.",
]

# Sentences that only some offers carry, so that "coopération" and "numérique" are common
# words of the catalogue without being in every offer.
OCCASIONAL_CONTEXTS = [
    (0.10, "Le projet s'inscrit dans une démarche de coopération avec les communes de la métropole."),
    (0.12, "Le service accompagne la transformation numérique de l'administration et des usages."),
]

LEVEL_LABELS = {"bac": "baccalauréat", "bac_1": "bac+1", "bac_2": "BTS ou DUT (bac+2)", "bac_3": "bac+3",
                "licence_3": "licence 3", "master_1": "master 1", "master_2": "master 2", "doctorate": "doctorat"}

FIRST_NAMES = ["Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Mathilde", "Claire", "Sophie",
               "Lucas", "Hugo", "Thomas", "Nicolas", "Julien", "Karim", "Yanis", "Antoine", "Mehdi", "Rémi",
               "Aurélie", "Nadia", "Élodie", "Fatima", "Louis", "Gaël", "Océane", "Bastien", "Zoé", "Amine"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Laurent", "Garcia", "Roux",
              "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent",
              "Muller", "Benali", "Nguyen", "Chevalier", "Blanc", "Guérin", "Boyer", "Mercier", "Haddad"]
CONTACT_TITLES = ["Cheffe de projets", "Chef de service", "Responsable de mission", "Chargée de mission",
                  "Directeur adjoint", "Coordinatrice", None]

STREETS = [("2 Passage du Palais de justice", "38000"), ("11 boulevard Jean Pain", "38000"),
           ("5 place de Lavalette", "38000"), ("12 rue de la République", "38000"),
           ("4 rue Lesdiguières", "38000"), ("33 avenue Jean Perrot", "38100"),
           ("97 galerie de l'Arlequin", "38100"), ("1 place de Metz", "38000"),
           ("8 rue Hector Berlioz", "38000"), ("2 rue Dr Lamaze", "38400")]


def ascii_fold(s):
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def add_months(d, months):
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    # Clamp the day to the month's length.
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(y, m, day)
        except ValueError:
            continue
    raise ValueError(d)


def unique_tags(rng, pool, k):
    out, seen = [], set()
    for t in rng.sample(pool, min(k, len(pool))):
        if t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


def offer(rng, i, year_counters, today):
    dept = weighted(rng, [(d, d["weight"]) for d in DEPARTMENTS])
    theme = rng.choice(dept["themes"])
    place = rng.choice(dept["places"])
    noun = rng.choice(dept["nouns"])
    org = weighted(rng, ORGANIZATIONS)
    if dept["code"] == "CCAS":
        org = "CCAS de Grenoble" if rng.random() < 0.7 else "Ville de Grenoble"

    # Dates: starts between 3 and 23 months after today; deadline 3 to 10 weeks before.
    start = today + dt.timedelta(days=90 + rng.randrange(0, 600))
    dmin = weighted(rng, [(1, 10), (2, 20), (3, 15), (4, 25), (5, 15), (6, 15)])
    dmax = rng.randint(dmin, min(6, dmin + 2))
    if dmax <= 2:
        paid = rng.random() < 0.3
    else:
        paid = True
    gratification = rng.choice([4.5, 4.5, 4.5, 4.65, 4.8, 5.0, 5.25, 6.0]) if paid else None
    end = add_months(start, dmax) - dt.timedelta(days=1) + dt.timedelta(days=rng.choice([0, 0, 7, 14, 30]))
    deadline = start - dt.timedelta(days=rng.randint(21, 70))
    year = start.year
    year_counters[(dept["code"], year)] = year_counters.get((dept["code"], year), 0) + 1
    reference = f"BENCH-{dept['code']}-{year}-{year_counters[(dept['code'], year)]:04d}"

    prefix = rng.choice(TITLE_PREFIXES)
    r = rng.random()
    if r < 0.45:
        title = f"{prefix}{theme}"
    elif r < 0.85:
        title = f"{prefix}{theme} – {place}"
    else:
        title = f"{prefix}{theme} ({noun})"

    # Education levels: a contiguous run of one to three levels.
    lo = weighted(rng, [(0, 3), (2, 8), (3, 8), (4, 14), (5, 30), (6, 30), (7, 2)])
    hi = min(len(EDUCATION_LEVELS) - 1, lo + rng.randint(0, 2))
    levels = EDUCATION_LEVELS[lo:hi + 1]
    edu_required = rng.random() < 0.6
    fields = rng.sample(dept["fields"], rng.randint(1, min(3, len(dept["fields"]))))
    languages = [{"code": "fr", "level": rng.choice(["B2", "C1", "C1", "C2"]), "required": True}]
    for code in rng.sample(dept["langs"], rng.randint(0, min(2, len(dept["langs"])))):
        languages.append({"code": code, "level": rng.choice(CEFR + [None]), "required": rng.random() < 0.4})
    skills = [{"name": s, "required": rng.random() < 0.3}
              for s in unique_tags(rng, dept["skills"] + GENERIC_SKILLS, rng.randint(1, 4))]
    licence = None
    if rng.random() < 0.25:
        licence = {"category": rng.choice(["B", "B", "B", "A", "C"]), "required": rng.random() < 0.5}

    tags = unique_tags(rng, dept["tags"], rng.randint(3, 6))
    for t in unique_tags(rng, COMMON_TAGS, rng.randint(0, 2)):
        if t.lower() not in {x.lower() for x in tags}:
            tags.append(t)

    fmt = {"noun": noun, "theme": theme.lower(), "theme_lower": theme.lower(), "org": org.replace("Ville", "ville", 1),
           "dept": dept["name"].replace("Direction", "direction", 1), "n": rng.randint(3, 25),
           "field": fields[0], "level_label": LEVEL_LABELS[levels[0]]}
    missions = []
    for obj in rng.sample(MISSION_OBJECTS, rng.randint(2, 6)):
        verb = rng.choice(VERBS)
        text = obj.format(**fmt)
        if verb.endswith(" à") and text.startswith("le "):
            missions.append(f"{verb[:-2]} au {text[3:]}.")
        elif verb.endswith(" à") and text.startswith("les "):
            missions.append(f"{verb[:-2]} aux {text[4:]}.")
        else:
            missions.append(f"{verb} {text}.")
    summary = (f"{rng.choice(VERBS)} {rng.choice(MISSION_OBJECTS).format(**fmt)}, "
               f"au sein de la {fmt['dept']} ({place}).")
    summary = summary.replace("Contribuer à le ", "Contribuer au ").replace("Participer à le ", "Participer au ")
    summary = summary.replace("Contribuer à les ", "Contribuer aux ").replace("Participer à les ", "Participer aux ")
    sentences = [s.format(**fmt) for s in rng.sample(CONTEXTS, rng.randint(2, 4))]
    sentences += [s for share, s in OCCASIONAL_CONTEXTS if rng.random() < share]
    context = " ".join(sentences)
    profile = rng.choice(PROFILES).format(**fmt)

    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    street, postal = rng.choice(STREETS)
    contact_title = rng.choice(CONTACT_TITLES)
    email_local = ascii_fold(f"{first}.{last}").lower().replace(" ", "-").replace("'", "")

    return {
        "reference": reference,
        "title": title,
        "language": "fr",
        "organization": org,
        "department": dept["name"],
        "summary": summary,
        "context": context,
        "missions": missions,
        "profile": profile,
        "requirements": {
            "education_levels": [{"level": lv, "required": edu_required} for lv in levels],
            "fields_of_study": [{"name": f, "required": rng.random() < 0.3} for f in fields],
            "languages": languages,
            "driving_licence": licence,
            "skills": skills,
        },
        "contract": {
            "type": "internship_agreement",
            "duration_months_min": dmin,
            "duration_months_max": dmax,
            "work_time_percent": weighted(rng, [(100, 85), (80, 10), (60, 5)]),
            "paid": paid,
            "hourly_gratification_eur": gratification,
            "starts_from": start.isoformat(),
            "ends_by": end.isoformat(),
            "remote": weighted(rng, [("none", 60), ("partial", 35), ("full", 5)]),
        },
        "location": {"street_address": street, "postal_code": postal, "city": "Grenoble", "country": "FR"},
        "contact": {
            "name": f"{first} {last}",
            "title": contact_title,
            "email": f"{email_local}@grenoble.example",
        },
        "application": {
            "documents": ["cv", "cover_letter"] if rng.random() < 0.85 else ["cv"],
            "deadline": deadline.isoformat(),
        },
        "positions": weighted(rng, [(1, 90), (2, 8), (3, 2)]),
        "tags": tags,
    }


def generate(n, seed, today):
    rng = random.Random(seed)
    counters = {}
    return [offer(rng, i, counters, today) for i in range(n)]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=10_000, help="number of offers (default 10000)")
    p.add_argument("--seed", type=int, default=20261201, help="random seed (default 20261201)")
    p.add_argument("-o", "--output", help="file to write (default stdout)")
    p.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(),
                   help="the day the dates are relative to, YYYY-MM-DD (default: today)")
    args = p.parse_args()
    offers = generate(args.n, args.seed, args.today)
    refs = [o["reference"] for o in offers]
    assert len(set(refs)) == len(refs), "references must be unique"
    text = json.dumps(offers, ensure_ascii=False, indent=None, separators=(",", ":"))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
