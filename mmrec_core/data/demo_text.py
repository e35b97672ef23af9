"""Words of the demo catalogue: listing titles, meta fields and review texts in Amazon's style.

Every function here turns already-drawn attributes into the raw Amazon Reviews 2023 records; the
randomness comes from the caller's generator, so the output follows the seed. Nothing here is copied
from real records: brands, phrases and details are invented.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from mmrec_core.data.drawing import COLOUR_RGB

KINDS: tuple[str, ...] = ("t-shirt", "dress", "sneaker", "handbag", "hat", "sunglasses")
COLOURS: tuple[str, ...] = tuple(COLOUR_RGB)
PATTERNS: tuple[str, ...] = ("solid", "stripes", "dots", "checks")

# noun as reviewers say it, "this ..." phrase, subject and object pronoun, verb, plural display name
GRAMMAR = {
    "t-shirt": ("shirt", "this shirt", "it", "it", "is", "t-shirts"),
    "dress": ("dress", "this dress", "it", "it", "is", "dresses"),
    "sneaker": ("sneakers", "these sneakers", "they", "them", "are", "sneakers"),
    "handbag": ("bag", "this bag", "it", "it", "is", "handbags"),
    "hat": ("hat", "this hat", "it", "it", "is", "hats"),
    "sunglasses": ("sunglasses", "these sunglasses", "they", "them", "are", "sunglasses"),
}
PATTERN_TITLE = {"solid": ("Solid", "Solid Color"), "stripes": ("Striped", "Stripe"),
                 "dots": ("Polka Dot", "Dotted"), "checks": ("Checkered", "Plaid", "Gingham")}
PATTERN_SAID = {"solid": "plain color", "stripes": "stripes", "dots": "polka dots", "checks": "checks"}
PATTERN_PLURAL = {"solid": "solid colours", "stripes": "stripes", "dots": "dots", "checks": "checks"}
BRANDS = ("Northwind Apparel", "Lumen & Co", "Kestrel Lane", "Maple Row", "Urbanite", "Brightfold",
          "Coastline Basics", "Hollis & Vane", "Tidewater", "Fernhill", "Arbor Street", "Quillmark",
          "Marlow Studio", "Oakridge Outfitters", "Juniper Thread", "Pelican Bay")

# per kind: departments, title nouns, adjectives, extras, features, Amazon category path, base price
LISTING = {
    "t-shirt": (("Women's", "Men's", "Unisex"), ("Crew Neck T-Shirt", "Cotton Tee", "V-Neck T-Shirt", "Basic Tee"),
                ("Classic", "Casual", "Soft", "Relaxed Fit", "Slim Fit", "Everyday"),
                ("Short Sleeve", "Summer Top", "Cotton Blend", "Breathable"),
                ("100% Cotton", "Crew neck", "Tagless label for comfort", "Relaxed fit through the body",
                 "Machine Wash"), ("Clothing", "Tops, Tees & Blouses", "T-Shirts"), 16.0),
    "dress": (("Women's",), ("A-Line Dress", "Sundress", "Fit and Flare Dress", "Midi Dress", "Swing Dress"),
              ("Sleeveless", "Casual", "Elegant", "Summer", "Vintage"),
              ("with Pockets", "Knee Length", "Party Cocktail", "Wedding Guest"),
              ("95% Polyester, 5% Spandex", "Zipper closure", "Hidden side pockets",
               "Flowy skirt with a fitted waist", "Hand Wash Only"), ("Clothing", "Dresses", "Casual"), 32.0),
    "sneaker": (("Women's", "Men's", "Unisex"), ("Sneakers", "Running Shoes", "Canvas Sneakers", "Walking Shoes"),
                ("Lightweight", "Classic", "Fashion", "Comfort", "Athletic"),
                ("Non Slip", "Lace Up", "Breathable Mesh", "Memory Foam Insole"),
                ("Rubber sole", "Lace-Up closure", "Cushioned insole", "Padded collar", "Imported"),
                ("Shoes", "Fashion Sneakers"), 45.0),
    "handbag": (("Women's",), ("Top Handle Handbag", "Satchel Purse", "Tote Bag", "Shoulder Bag"),
                ("Vegan Leather", "Structured", "Classic", "Small", "Work"),
                ("with Zipper", "Crossbody Strap Included", "for Work and Travel"),
                ("Faux leather", "Magnetic snap closure", "Interior zip pocket", "Handle drop: 4 inches"),
                ("Handbags & Wallets", "Top-Handle Bags"), 38.0),
    "hat": (("Women's", "Men's", "Unisex"), ("Fedora Hat", "Wide Brim Hat", "Bucket Hat", "Sun Hat", "Panama Hat"),
            ("Classic", "Packable", "Felt", "Straw", "Vintage"), ("UPF 50+", "with Band", "Adjustable", "Travel"),
            ("Polyester", "Inner sweatband", "Brim width: 3 inches", "Packable for travel"),
            ("Accessories", "Hats & Caps", "Fedoras"), 20.0),
    "sunglasses": (("Women's", "Men's", "Unisex"),
                   ("Sunglasses", "Square Sunglasses", "Oversized Sunglasses", "Retro Round Sunglasses"),
                   ("Polarized", "Classic", "Trendy", "Vintage", "Lightweight"),
                   ("UV400 Protection", "for Driving", "Shades for Men and Women"),
                   ("Polycarbonate lens", "UV400 protection", "Lens width: 55 millimeters", "Spring hinges"),
                   ("Accessories", "Sunglasses & Eyewear Accessories", "Sunglasses"), 18.0),
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

SENTENCES = {
    5: ("Absolutely love {this}!", "{This} {is} exactly as pictured.", "Fits perfectly and feels great.",
        "I get compliments every time I wear {obj}.", "Quality is excellent for the price.",
        "Bought {obj} as a gift and she loved {obj}.", "Comfortable &amp; stylish, what more could you want.",
        "Would definitely buy again.", "Best {noun} I have owned in years.",
        "Arrived quickly and looks even better in person."),
    4: ("Really nice {noun}, just runs a little small.", "Good quality overall.", "Pretty happy with {this}.",
        "Looks great, shipping took a while though.", "Nice material &amp; good fit.",
        "Would recommend, but size up.", "{This} {is} cute and well made.", "Not perfect but I like {obj} a lot."),
    3: ("It's okay.", "{This} {is} fine, nothing special.", "Not bad, not great.", "Looks nice but the fit is off.",
        "Decent for the price, but the stitching is a bit loose.", "I like the look, the material feels thin though.",
        "Kept {obj}, but I probably would not buy again.", "Mixed feelings about {this}."),
    2: ("Disappointed with {this}.", "The material feels cheap.", "Smaller than expected and not very comfortable.",
        "Looked nothing like the listing.", "Started to wear out after a few uses.", "Not worth the money.",
        "The size chart is way off."),
    1: ("Terrible quality, {it} fell apart within a week.", "Returned {obj} immediately.", "Do not buy {this}.",
        "Worst purchase I have made this year.", "Complete waste of money.",
        "Arrived damaged &amp; the seller never replied.", "Nothing like the photos. Very cheap."),
}
TITLES = {
    5: ("Five Stars", "Love it!", "Perfect", "Great purchase", "So cute", "Highly recommend"),
    4: ("Four Stars", "Very nice", "Good value", "Pretty good", "Happy with it"),
    3: ("Three Stars", "It's ok", "Meh", "Average", "Just okay"),
    2: ("Two Stars", "Disappointed", "Not great", "Cheap material"),
    1: ("One Star", "Terrible", "Do not buy", "Waste of money", "Returned it"),
}
COLOUR_SAID = {True: ("The {c} is gorgeous.", "Love the {c} color.", "The {c} is even prettier in person."),
               False: ("The {c} looked nothing like the picture.", "The {c} faded after a few washes.")}
PATTERN_SENT = {True: ("The {p} look sharp.", "Love the {p}."),
                False: ("The {p} are printed off-center.", "Did not like the {p} in person.")}


def plural_name(group: str, value: str) -> str:
    """Display name of a taste dimension value: ``("kind", "dress") -> "dresses"``."""
    if group == "kind":
        return GRAMMAR[value][5]
    return PATTERN_PLURAL[value] if group == "pattern" else value


def _title(r: list[int], kind: str, colour: str, pattern: str, show_c: bool, show_p: bool, brand: str) -> str:
    depts, nouns, adjs, extras = LISTING[kind][:4]
    parts = [brand, depts[r[0] % len(depts)], adjs[r[1] % len(adjs)]]
    front = r[2] % 5 < 2  # colour before the noun, or after a dash
    if show_p:
        parts.append(PATTERN_TITLE[pattern][r[3] % len(PATTERN_TITLE[pattern])])
    if show_c and front:
        parts.append(colour.title())
    parts.append(nouns[r[4] % len(nouns)])
    suffix = [colour.title()] if show_c and not front else []
    if r[5] % 3:
        suffix.append(extras[r[5] % len(extras)])
    return " ".join(parts) + (" - " + ", ".join(suffix) if suffix else "")


def meta_records(rng: np.random.Generator, item_ids: list[str], attrs: dict, pictures: np.ndarray,
                 rev_items: np.ndarray, ratings: np.ndarray) -> Iterator[dict]:
    """One raw meta record per item (field order and types as in ``meta_Amazon_Fashion.jsonl``), streamed."""
    n = len(item_ids)
    counts = np.bincount(rev_items, minlength=n)
    sums = np.bincount(rev_items, weights=ratings, minlength=n)
    avg = np.where(counts > 0, sums / np.maximum(counts, 1), rng.uniform(3.0, 5.0, n))
    rating_number = counts + rng.poisson(2 * counts + 3)
    price = np.floor(rng.lognormal(0, 0.3, n) * np.array([LISTING[KINDS[k]][6] for k in attrs["kind"]])) + 0.99
    has_price, hires = rng.random(n) >= 0.12, rng.random(n) >= 0.3
    R = rng.integers(0, 1 << 30, (n, 12)).tolist()
    for j in range(n):
        r, kind = R[j], KINDS[attrs["kind"][j]]
        depts, features, path = LISTING[kind][0], LISTING[kind][4], LISTING[kind][5]
        brand, dept = BRANDS[r[6] % len(BRANDS)], depts[r[0] % len(depts)]
        title = _title(r, kind, COLOURS[attrs["colour"][j]], PATTERNS[attrs["pattern"][j]],
                       bool(attrs["shows_c"][j]), bool(attrs["shows_p"][j]), brand)
        start = r[7] % len(features)
        feats = [features[(start + k) % len(features)] for k in range(2 + r[8] % 3)]
        desc = [] if r[9] % 2 else [f"A {GRAMMAR[kind][0]} from {brand}, made for everyday wear and easy care."]
        details: dict = {
            "Package Dimensions": f"{8 + r[10] % 7} x {6 + r[10] % 5} x {1 + r[10] % 3} inches; "
                                  f"{2 + r[11] % 20}.{r[11] % 10} Ounces",
            "Item model number": f"{brand[:2].upper()}-{1000 + r[11] % 9000}",
            "Date First Available": f"{MONTHS[r[10] % 12]} {1 + r[9] % 28}, {2016 + r[8] % 6}",
            "Department": dept.lower().replace("'s", "s").replace("unisex", "unisex-adult"),
        }
        if r[5] % 4 == 0:  # nested values occur in real details
            details["Best Sellers Rank"] = {"Clothing, Shoes & Jewelry": 1000 + r[11] % 900000, path[-1]: 1 + r[7] % 5000}
        cats = [] if r[3] % 5 < 3 else ["Clothing, Shoes & Jewelry", dept.split("'")[0], *path]
        pic = str(pictures[j])
        yield {
            "main_category": "AMAZON FASHION", "title": title, "average_rating": round(float(avg[j]), 1),
            "rating_number": int(rating_number[j]), "features": feats, "description": desc,
            "price": round(float(price[j]), 2) if has_price[j] else None,
            "images": [{"thumb": pic, "large": pic, "variant": "MAIN", "hi_res": pic if hires[j] else None}],
            "videos": [], "store": brand, "categories": cats, "details": details,
            "parent_asin": item_ids[j], "bought_together": None,
        }


def review_text(r: list[int], f: list[float], wording: int, kind: str, colour: str, pattern: str,
                image_only: bool) -> str:
    """A review whose wording follows ``wording`` (1..5); may name the colour/pattern unless image-only."""
    noun, this, it, obj, is_, _ = GRAMMAR[kind]
    pool = SENTENCES[wording]
    n_sent, start = 1 + r[0] % 3, r[1] % len(pool)
    sents = [pool[(start + k * (1 + r[2] % (len(pool) - 1))) % len(pool)] for k in range(n_sent)]
    sents = list(dict.fromkeys(sents))
    liked = wording >= 4 or (wording == 3 and f[0] < 0.5)
    if not image_only and f[1] < 0.3:
        opts = COLOUR_SAID[liked]
        sents.insert(r[3] % (len(sents) + 1), opts[r[4] % len(opts)].replace("{c}", colour))
    if not image_only and pattern != "solid" and f[2] < 0.2:
        opts = PATTERN_SENT[liked]
        sents.append(opts[r[5] % len(opts)].replace("{p}", PATTERN_SAID[pattern]))
    body = ("<br />" if f[3] < 0.15 else " ").join(sents)
    return body.format(noun=noun, this=this, This=this.capitalize(), it=it, obj=obj, **{"is": is_})


def review_records(rng: np.random.Generator, item_ids: list[str], user_ids: list[str], asins: np.ndarray,
                   users: np.ndarray, items: np.ndarray, ratings: np.ndarray, attrs: dict, image_only: bool,
                   pictures: np.ndarray, span_ms: tuple[int, int], wording_noise: float) -> Iterator[dict]:
    """Raw review records (field order and types as in ``Amazon_Fashion.jsonl``), streamed."""
    n, t0, t1 = len(users), *span_ms
    day = 86_400_000
    u_start = rng.integers(t0, t1 - 60 * day, len(user_ids))
    u_span = rng.integers(30 * day, 1500 * day, len(user_ids))
    u_span = np.minimum(u_span, t1 - u_start)  # a user's reviews stay inside the window, without a spike at its end
    ts = (u_start[users] + (rng.random(n) * u_span[users]).astype(np.int64)).tolist()
    wording = np.where(rng.random(n) < wording_noise, 1 + (ratings - 1 + rng.integers(1, 5, n)) % 5, ratings)
    votes = (rng.geometric(0.7, n) - 1).tolist()
    verified = (rng.random(n) < 0.9).tolist()
    with_image = (rng.random(n) < 0.03).tolist()
    R, F = rng.integers(0, 1 << 30, (n, 7)).tolist(), rng.random((n, 4)).tolist()
    kinds, cols, pats = attrs["kind"].tolist(), attrs["colour"].tolist(), attrs["pattern"].tolist()
    for k, (u, j, rating, wr) in enumerate(zip(users.tolist(), items.tolist(), ratings.tolist(), wording.tolist(),
                                              strict=True)):
        kind = KINDS[kinds[j]]
        body = review_text(R[k], F[k], wr, kind, COLOURS[cols[j]], PATTERNS[pats[j]], image_only)
        pic = str(pictures[j])
        images = [{"small_image_url": pic, "medium_image_url": pic, "large_image_url": pic,
                   "attachment_type": "IMAGE"}] if with_image[k] else []
        title = TITLES[wr][R[k][6] % len(TITLES[wr])]
        yield {
            "rating": float(rating), "title": title, "text": body, "images": images, "asin": str(asins[k]),
            "parent_asin": item_ids[j], "user_id": user_ids[u], "timestamp": ts[k],
            "helpful_vote": votes[k], "verified_purchase": verified[k],
        }
