"""The building blocks of the synthetic default dataset: topics, items, phrasings and dealbreakers.

Kept as plain data so the generator's rules (``harness.data.generate``) read as rules. Every item is a
noun phrase that fits "I love ___" and "I can't stand ___".
"""

from __future__ import annotations

#: category -> subcategory -> items. A subcategory is one preference topic.
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "lifestyle": {
        "active": ("hiking", "running", "gym workouts", "yoga", "cycling", "rock climbing", "early morning swims"),
        "relaxed": ("lazy Sundays", "Netflix marathons", "sleeping in", "long naps", "slow mornings", "quiet evenings on the couch"),
        "extroverted": ("big parties", "meeting new people", "nightlife", "crowded festivals", "hosting dinner parties", "social events"),
        "introverted": ("small gatherings", "staying home", "quiet cafes", "solo walks", "peaceful evenings", "one-on-one conversations"),
    },
    "interests": {
        "food": ("street food", "fine dining", "cooking at home", "vegetarian food", "trying new cuisines", "baking bread"),
        "travel": ("backpacking trips", "beach holidays", "city breaks", "road trips", "luxury resorts", "camping abroad"),
        "music": ("live music", "rock concerts", "jazz clubs", "classical music", "karaoke nights", "vinyl records"),
        "arts": ("museums", "painting", "theater", "photography", "poetry readings", "art galleries"),
        "sports": ("watching football", "playing tennis", "basketball games", "marathon training", "ski trips", "martial arts"),
        "games": ("video games", "board games", "chess", "puzzle nights", "trivia quizzes", "tabletop role-playing"),
    },
    "values": {
        "family": ("family traditions", "having kids", "family time", "big family holidays", "living near my parents"),
        "career": ("career ambition", "professional growth", "long working hours", "starting a business", "climbing the corporate ladder"),
        "honesty": ("radical honesty", "open communication", "loyalty", "keeping promises", "talking through conflicts"),
        "faith": ("religious practice", "going to church", "spiritual retreats", "praying together", "faith-based community"),
        "environment": ("sustainability", "eco-friendly living", "zero-waste shopping", "climate activism", "a plant-based diet"),
        "money": ("saving money", "careful budgeting", "frugal living", "long-term investing", "financial planning"),
    },
}

#: Lifestyle and interest topics that clash when both people love theirs: a subtle mismatch that
#: is still incompatible. Any other pair of different topics is compatible (different hobbies
#: are fine).
CLASHING_TOPICS: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("active", "relaxed"),
        ("extroverted", "introverted"),
        ("extroverted", "relaxed"),
        ("travel", "introverted"),
        ("sports", "relaxed"),
    )
)

POSITIVE_TEMPLATES: tuple[str, ...] = (
    "I love {x}",
    "I'm really into {x}",
    "I adore {x}",
    "I'm passionate about {x}",
    "I can't get enough of {x}",
    "I'm a huge fan of {x}",
    "I really enjoy {x}",
    "I'm all about {x}",
    "I get excited about {x}",
    "I live for {x}",
    "I'm obsessed with {x}",
    "I value {x}",
)

NEGATIVE_TEMPLATES: tuple[str, ...] = (
    "I can't stand {x}",
    "I hate {x}",
    "I really dislike {x}",
    "I avoid {x}",
    "I'm not into {x}",
    "I have no patience for {x}",
    "I'd rather skip {x}",
    "I find {x} exhausting",
    "I'm not a fan of {x}",
    "I've never liked {x}",
    "I steer clear of {x}",
    "I'm tired of {x}",
)

#: Dealbreaker topic -> (what the refusing person cannot accept, what the other person says of
#: themselves). The refusal reads "I would never date someone who <clause>".
DEALBREAKERS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "substances": {
        "smoking": (("smokes", "smokes every day", "is a regular smoker"),
                    ("I smoke a pack a day", "I enjoy a cigarette after dinner", "I'm a regular smoker", "I can't quit smoking")),
        "heavy drinking": (("drinks heavily", "gets drunk every weekend", "drinks every night"),
                           ("I get drunk most weekends", "I drink every single night", "I love heavy drinking sessions", "I always order one more round")),
        "drugs": (("uses drugs", "takes recreational drugs", "does drugs at parties"),
                  ("I take recreational drugs", "I do drugs at parties", "I use drugs to unwind", "I'm into party drugs")),
    },
    "personality": {
        "jealousy": (("gets jealous easily", "is possessive", "checks my phone"),
                     ("I get jealous very easily", "I'm a possessive partner", "I check my partner's phone", "I hate my partner having friends")),
        "control": (("is controlling", "tells me what to wear", "wants to control my money"),
                    ("I like to control my partner's plans", "I decide what my partner wears", "I manage my partner's money", "I need to approve my partner's friends")),
        "rudeness": (("is rude to waiters", "yells when angry", "mocks other people"),
                     ("I'm rude to waiters", "I yell when I'm angry", "I love mocking people", "I'm often rude to strangers")),
    },
    "habits": {
        "gambling": (("gambles", "bets on everything", "spends nights at the casino"),
                     ("I gamble every weekend", "I bet on every match", "I spend my nights at the casino", "I love high-stakes gambling")),
        "gaming addiction": (("games all night", "is addicted to video games", "skips plans to play games"),
                             ("I game all night every night", "I'm addicted to video games", "I skip plans to keep gaming", "I play games for twelve hours a day")),
        "social media": (("is glued to social media", "posts everything online", "is always on their phone"),
                         ("I'm glued to social media", "I post everything online", "I'm always on my phone", "I spend hours on social media daily")),
    },
}

DEALBREAKER_TEMPLATES: tuple[str, ...] = (
    "I would never date someone who {x}",
    "I can't be with someone who {x}",
    "It's a dealbreaker if my partner {x}",
    "I refuse to date anyone who {x}",
    "A partner who {x} is a hard no for me",
)

CONNECTIVES: tuple[str, ...] = ("but", "and", "although", "though", "while")

#: Hand-written realistic pairs (label, subcategory, text_1, text_2) in the seed's spirit: values
#: and dealbreakers outweigh hobbies.
REALISTIC: tuple[tuple[int, str, str, str], ...] = (
    (1, "family_values_outweigh_exercise", "boy: I run every morning and family comes first for me", "girl: I hate running but my family is my whole world"),
    (0, "dealbreaker_overrides_shared_music", "boy: I love jazz and I smoke after every gig", "girl: Jazz is my favourite music but I would never date a smoker"),
    (1, "shared_honesty_different_hobbies", "boy: I spend weekends gaming and I always tell the truth", "girl: I prefer painting to games and honesty matters most to me"),
    (0, "kids_disagreement_despite_shared_travel", "boy: I love backpacking and I definitely want kids soon", "girl: Backpacking is my passion and I never want children"),
    (1, "shared_faith_different_social_styles", "boy: I'm quiet and my faith guides my life", "girl: I'm the life of every party and I pray every day"),
    (0, "money_values_clash", "boy: I save half of what I earn and plan every purchase", "girl: I spend everything I earn the day I get paid"),
    (1, "both_career_driven", "boy: I work long hours building my startup", "girl: I'm chasing a promotion and understand busy weeks"),
    (0, "jealousy_overrides_shared_food", "boy: I love cooking together and I get jealous when you see friends", "girl: Cooking together sounds great but I need my freedom with friends"),
    (1, "shared_sustainability", "boy: I bike everywhere and avoid plastic", "girl: I shop zero-waste and care a lot about the planet"),
    (0, "faith_clash_despite_shared_hiking", "boy: I hike every weekend and church is central to my life", "girl: Hiking is my therapy and I'm firmly not religious"),
    (1, "introvert_extrovert_shared_loyalty", "boy: I'm a homebody but loyal to the core", "girl: I'm out a lot but I'd never betray a partner"),
    (0, "drinking_dealbreaker_shared_sports", "boy: I love football and drink heavily every match", "girl: I love football too but heavy drinking is a dealbreaker"),
    (1, "shared_family_different_food", "boy: I'm vegetarian and I call my mom every day", "girl: I eat everything and Sunday dinners with family are sacred"),
    (0, "career_vs_family_priorities", "boy: My career will always come before family time", "girl: I want a partner who puts family before work"),
    (1, "shared_humor_and_openness", "boy: I talk through every conflict calmly", "girl: Open communication is how I handle every argument"),
    (0, "control_overrides_shared_arts", "boy: I love museums and I decide how my partner dresses", "girl: Museums are my happy place and nobody controls my clothes"),
)
