"""The plain-text members of the sample corpus, written byte for byte by ``build_corpus``.

Each is shaped like the real thing it imitates: the HTML page carries the navigation, scripts,
banners and footer a saved intranet page has (the loader must drop them), the TXT log is cp1252
as an old Windows notebook would write it, the code and JSON are ordinary project files.
"""

from __future__ import annotations

from engine.samples.content import NEWS_NOISE, TIDE_OFFSET_MM

NEWS_HTML = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Station News - October 2025 | Halcyon Intranet</title>
<style>body {{ font-family: sans-serif; }} .banner {{ color: red; }}</style>
<script>var trackingCode = "{NEWS_NOISE}"; console.log("loaded");</script>
</head>
<body>
<header class="site-header">
  <a href="/">Halcyon Intranet</a>
  <nav><ul><li><a href="/rota">Duty rota</a></li><li><a href="/menu">Mess menu</a></li>
  <li><a href="/weather">Weather</a></li></ul></nav>
</header>
<div role="navigation" class="breadcrumbs">Home &gt; News &gt; {NEWS_NOISE}</div>
<aside class="weather-widget">Wind now: 34 knots from the west. Sponsored by {NEWS_NOISE}.</aside>
<main>
  <article>
    <h1>Station News - October 2025</h1>
    <p class="byline">Posted by the station office on 6 October 2025.</p>
    <h2>A new cook in the galley</h2>
    <p>Please welcome <strong>Rafael Ondaatje</strong>, who joined us as head cook on the last
    rotation. Rafael spent six seasons cooking on research ships and promises fresh bread every
    morning.</p>
    <h2>Supply ship schedule</h2>
    <p>The supply ship <em>MV Saltmarsh Grace</em> calls at Merrow Island every six weeks. Her
    next arrival is expected on 3 November 2025, weather permitting.</p>
    <ul>
      <li>Personal orders close ten days before arrival.</li>
      <li>Outgoing mail goes in the red box in the mess.</li>
    </ul>
    <h2>The library has moved</h2>
    <p>The station library has moved from the mess annex to Hut F, next to the drying room.</p>
  </article>
</main>
<form action="/search"><input name="q" placeholder="Search the intranet"></form>
<footer>Copyright Halcyon Intranet {NEWS_NOISE}. <a href="/privacy">Privacy</a></footer>
<script src="/static/analytics.js"></script>
<noscript>Enable JavaScript for the {NEWS_NOISE} widgets.</noscript>
</body>
</html>
"""

DATA_MD = """# Data Management Guide

This guide explains how field data from Halcyon Reach is named, stored and kept.

## Naming datasets

Every dataset gets a name of the form `HRS-<instrument>-<YYYYMMDD>`, for example
`HRS-CTD-20250211` for a CTD cast made on 11 February 2025.

- Use upper case for the instrument code.
- Never reuse a name, even for a repeated measurement.

## Backups

Raw data is copied every night at 02:15 to the backup server VAULT-2 in the Aurora Wing.
The copy is made with this command:

```bash
rsync -a --checksum /data/raw/ vault-2:/archive/raw/
```

Retention
---------

Raw data is kept for seven years after the end of the season in which it was collected;
derived products are kept for as long as they are cited.
"""

LAB_RST = """===============================
Laboratory Booking Procedure
===============================

Instruments in the Aurora Wing laboratory are shared between all projects.

Booking the mass spectrometer
=============================

The Orbit-9 mass spectrometer must be booked at least 48 hours in advance on the booking
sheet. Bookings are limited to two consecutive days per project.

Example entry in the booking sheet::

    2025-11-12  Orbit-9  seabird-isotopes  09:00-17:00

Contacts
========

The laboratory manager is Priya Santhanam (telephone extension 4471). Ask her before moving
any instrument.

- Cancel bookings you will not use.
- Leave the instrument log filled in.
"""

WILDLIFE_TXT = """Wildlife observation log 2025
Kept by ranger Zoë Achterberg

19 January 2025 - Gull Point colony count. 412 nesting pairs of Merrow petrels counted,
most burrows with a chick. Weather fair, wind 12 knots.

2 February 2025 - Elephant seals. 58 pups counted on the east beaches, two more than last
year. Bulls still ashore; keep the 25-metre distance rule.

17 February 2025 - First skuas seen raiding the café bins behind Hut E. Bins to be locked.
"""

TIDE_PY = f'''"""Tide correction for Halcyon Reach pressure sensors.

Written by Jonas Whitcombe. Heights are corrected against the reference tide gauge TG-Merrow-3.
"""

from __future__ import annotations

#: Offset between the sensor datum and chart datum, in millimetres.
TIDE_OFFSET_MM = {TIDE_OFFSET_MM}


def corrected_height(raw_mm: float) -> float:
    """Height above chart datum for a raw sensor reading."""
    return raw_mm - TIDE_OFFSET_MM


def correct_series(readings: list[float]) -> list[float]:
    """Correct a whole series of readings."""

    return [corrected_height(r) for r in readings]


if __name__ == "__main__":
    print(correct_series([1200.0, 1350.5, 980.2]))
'''

CONFIG_JSON = """{
  "station": {
    "name": "Halcyon Reach",
    "callsign": "HRX-7",
    "timezone": "Etc/GMT+2"
  },
  "power": {
    "generators": 3,
    "fuel_tank_litres": 12000,
    "solar_array_kw": 45
  },
  "network": {
    "satellite_quota_gb_per_month": 40,
    "guest_wifi": false
  },
  "alarms": [
    {"name": "fire", "tone": "continuous"},
    {"name": "muster", "tone": "three long blasts"}
  ]
}
"""

#: file name -> (text, encoding)
TEXT_FILES: dict[str, tuple[str, str]] = {
    "station_news.html": (NEWS_HTML, "utf-8"),
    "data_management.md": (DATA_MD, "utf-8"),
    "lab_booking.rst": (LAB_RST, "utf-8"),
    "wildlife_log_2025.txt": (WILDLIFE_TXT, "cp1252"),
    "tide_correction.py": (TIDE_PY, "utf-8"),
    "station_config.json": (CONFIG_JSON, "utf-8"),
}
