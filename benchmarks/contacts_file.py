"""A contacts CSV like a clinic's export: mostly UK numbers typed every way people type them,
some from abroad, the damage spreadsheets do (lost +, lost 0, 4.47712E+11), a few mistakes
and a few duplicates. Deterministic, so runs compare."""

from __future__ import annotations

import csv
import io
import random

# National numbers (without the country code) that phonenumbers accepts as valid, as
# prefix + count of random digits to follow.
_UK_MOBILE = ("7400", "7425", "7450", "7500", "7555", "7780", "7800", "7830", "7900", "7956")
_US_AREAS = ("212", "415", "617", "312", "305", "206", "303", "404", "512", "702")
_DE_MOBILE = ("160", "170", "171", "176")
_FIRST = ("Alice", "Bob", "Chloé", "Dev", "Eve", "Farah", "George", "Hana", "Ian", "Józef")
_LAST = ("Smith", "Jones", "Taylor", "Brown", "Nowak", "Müller", "Khan", "O'Neil", "Li", "Patel")


def _uk(rng: random.Random) -> str:
    national = rng.choice(_UK_MOBILE) + f"{rng.randrange(10**6):06d}"
    style = rng.random()
    if style < 0.35:
        return f"+44 {national[:4]} {national[4:]}"
    if style < 0.65:
        return f"0{national[:4]} {national[4:]}"
    if style < 0.75:
        return f"44{national}"  # lost its +
    if style < 0.85:
        return national  # lost its 0
    if style < 0.90:
        return f"'+44{national}"
    if style < 0.95:
        return f"44{national}.0"  # stored as a number
    return f"+44 ({national[:4]}) {national[4:7]}-{national[7:]}"


def _abroad(rng: random.Random) -> str:
    if rng.random() < 0.6:
        area = rng.choice(_US_AREAS)
        return f"+1 ({area}) {rng.randrange(200, 999)}-{rng.randrange(10**4):04d}"
    prefix = rng.choice(_DE_MOBILE)
    return f"0049 {prefix} {rng.randrange(10**7):07d}"


def _bad(rng: random.Random) -> str:
    return rng.choice(("n/a", "4.47712E+11", "0790", "+44 7911 12345678901", "see notes", "+999 1"))


def contacts_csv(rows: int, seed: int = 7) -> bytes:
    """``rows`` data rows (1% refused, 2% duplicates of earlier rows), UTF-8 with a header."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["First name", "Last name", "Mobile", "Appointment", "Clinic"])
    numbers: list[str] = []
    for i in range(rows):
        roll = rng.random()
        if roll < 0.01:
            number = _bad(rng)
        elif roll < 0.03 and numbers:
            number = rng.choice(numbers)
        elif roll < 0.13:
            number = _abroad(rng)
        else:
            number = _uk(rng)
        numbers.append(number)
        writer.writerow(
            [
                rng.choice(_FIRST),
                rng.choice(_LAST),
                number,
                f"2026-12-{1 + i % 28:02d} {9 + i % 8}:{(i * 7) % 60:02d}",
                rng.choice(("North", "South", "Riverside")),
            ]
        )
    return out.getvalue().encode("utf-8")
