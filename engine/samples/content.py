"""The words of the sample corpus: documents of Halcyon Reach Research Station (fictional).

Halcyon Reach is an invented research station on the invented Merrow Island in the Southern
Ocean, run by the (also invented) Aldous-Kerrigan Foundation. Every checkable fact (a name, a
number, a date, a code) appears in exactly one file and one page, so a question about it has one
right source; :data:`QUESTIONS` lists them and becomes ``qa_draft.jsonl``.

Kept apart from ``build_corpus.py`` so the builder stays about file formats, this about content.
"""

from __future__ import annotations

# ------------------------------------------------------------------ PDF: annual report, 5 pages
#: (heading, [paragraphs]) per page. Core PDF fonts are Latin-1 only: keep this text ASCII.
REPORT_TITLE = "Halcyon Reach Research Station - Annual Report 2025"
REPORT_PAGES: list[tuple[str, list[str]]] = [
    (
        "Foreword from the Station Director",
        [
            "2025 was the 38th season of continuous work at Halcyon Reach. This report sums up "
            "who lived and worked on Merrow Island, what the year cost, what we learned and what "
            "went wrong.",
            "I want to thank every member of the crew for a year of careful, patient science in "
            "one of the windiest places on the planet. - Dr. Ilse Marchetti-Okafor, Station "
            "Director, Halcyon Reach.",
        ],
    ),
    (
        "Staffing and Logistics",
        [
            "The winter crew numbered 27 people, the largest overwintering team in the station's "
            "history. During the summer field season the population peaked at 64 people in "
            "late January.",
            "Our longest-serving crew member, mechanic Obi Lindgren, completed his eleventh "
            "winter on the island this year and keeps every engine on Merrow Island running.",
        ],
    ),
    (
        "Budget",
        [
            "The total operating budget for the 2025 financial year was EUR 4.82 million. Fuel "
            "for generators, vessels and vehicles accounted for 31 percent of all spending, the "
            "largest single cost.",
            "Research grants of EUR 1.37 million came from the Tidewater Science Council, which "
            "funds the seabird and ocean-mooring programmes.",
        ],
    ),
    (
        "Research Highlights",
        [
            "The Merrow petrel tracking project fitted 118 GPS tags to breeding adults this "
            "season, more than double the previous year.",
            "The longest foraging trip recorded was 2,340 km, flown by the bird tagged MP-0457 "
            "over nine days before it returned to its burrow.",
        ],
    ),
    (
        "Incidents",
        [
            "On 14 March 2025 a fire broke out in the generator room of Hut C. The duty crew "
            "put it out in six minutes with CO2 extinguishers and nobody was hurt.",
            "As a result, self-closing fire doors were fitted to all generator rooms and the "
            "fire-watch rota was extended to weekends.",
        ],
    ),
]

# --------------------------------------------------------------------- DOCX: safety handbook
HANDBOOK_TITLE = "Field Safety Handbook"
#: ("h1"/"h2"/"p"/"bullet", text) in order; the radio table is inserted after "Radio channels".
HANDBOOK: list[tuple[str, str]] = [
    ("p", "Issued by the Halcyon Reach safety officer. Read it before your first field day."),
    ("h1", "Small-boat operations"),
    ("h2", "Launch limits"),
    (
        "p",
        "No small boat may be launched when the sustained wind exceeds 18 knots or the swell "
        "exceeds 1.5 metres, whatever the forecast says for later in the day.",
    ),
    ("h2", "Crew"),
    (
        "p",
        "Every small-boat trip needs a minimum crew of three: a coxswain, a radio operator and "
        "one more person who has passed the cold-water survival course.",
    ),
    ("h1", "Emergency muster"),
    ("p", "When any alarm sounds:"),
    ("bullet", "stop work and make your equipment safe;"),
    ("bullet", "walk, do not run, to the muster point at the Anemometer Mast beside the helipad;"),
    ("bullet", "report to the duty officer and wait for the roll call."),
    ("h2", "Radio channels"),
    ("p", "Field parties call the station on the channel of the zone they are working in."),
    ("h1", "Cold-weather clothing"),
    (
        "p",
        "Every arrival is issued an expedition parka from the clothing store; its issue code is "
        "PK-77. Lost parkas are replaced once per season.",
    ),
]
RADIO_TABLE = [
    ["Zone", "Channel", "Call sign"],
    ["North Cliffs", "12", "Gannet"],
    ["Lagoon", "23", "Heron"],
    ["Summit Ridge", "71", "Osprey"],
]

# --------------------------------------------------------------------- ODT: council minutes
MINUTES_TITLE = "Station Council Minutes - 2 June 2025"
MINUTES_INTRO = (
    "The council met in the mess at 19:00. The meeting was chaired by Deputy Director Haruto "
    "Bellweather."
)
MINUTES_ATTENDEES = ["Haruto Bellweather", "Mireille Duarte", "Kwame Asante-Rowe", "Lotte Vinter"]
MINUTES_DECISIONS = (
    "The council approved the purchase of a second desalination unit, an AquaPure DX-40, for "
    "EUR 38,500, to be delivered with the spring resupply."
)
MINUTES_ACTIONS = [
    ["Owner", "Action", "Due"],
    ["Mireille Duarte", "Draft the new quad-bike policy", "30 June 2025"],
    ["Kwame Asante-Rowe", "Get three quotes for replacing the pier lights", "14 July 2025"],
]
MINUTES_NEXT = "The next council meeting will be held on 15 September 2025."

# ------------------------------------------------------------------ PPTX: onboarding, 5 slides
#: (title, bullets or paragraph lines, speaker notes, table or None) per slide.
SLIDES: list[tuple[str, list[str], str, list[list[str]] | None]] = [
    (
        "Welcome to Halcyon Reach",
        ["Arrivals briefing, season 2025-26"],
        "Start with a round of names.",
        None,
    ),
    (
        "Getting around",
        [
            "Merrow Island is 14 km long and 3 km wide at its widest point",
            "Quad bikes may only be ridden by holders of a QB-2 permit",
            "Always sign out on the board by the boot room",
        ],
        "Show the island map.",
        None,
    ),
    (
        "Meals",
        [
            "Breakfast 07:00 to 08:30",
            "Lunch 12:30 to 13:30",
            "Sunday brunch is served at 10:30 instead of breakfast and lunch",
        ],
        "Mention allergies to the cook.",
        None,
    ),
    (
        "Quiet hours",
        [
            "Quiet hours run from 22:00 to 06:30 every night",
            "Music and films only in the Lounge Pod during quiet hours",
        ],
        "Remind arrivals that the sauna is booked on the whiteboard outside the mess.",
        None,
    ),
    (
        "Who to ask",
        [],
        "Hand out the contact cards.",
        [
            ["Role", "Name", "Room"],
            ["Station medic", "Dr. Tamsin Fairweather", "A-104"],
            ["IT and radio", "Bram Oyelaran", "C-012"],
        ],
    ),
]

# ---------------------------------------------------------------------- XLSX: stores and fleet
INVENTORY = [
    ["Item code", "Description", "Quantity", "Location"],
    ["HR-2231", "Thermistor string, 50 m", 14, "Store B"],
    ["HR-3310", "Acoustic release", 5, "Store A"],
    ["HR-4102", "Spare drone battery pack", 22, "Store D"],
    ["HR-5007", "Survival suit, size L", 9, "Boat shed"],
]
VESSELS = [
    ["Name", "Type", "Length (m)", "Max persons", "Commissioned"],
    ["RV Petrel Dawn", "Research vessel", 12.4, 10, 2016],
    ["Skua", "Rigid inflatable boat", 5.8, 6, 2021],
    ["Tern", "Rigid inflatable boat", 4.9, 4, 2012],
]

# --------------------------------------------------------------------------- CSV: buoy log
BUOYS = [
    ["Buoy ID", "Site", "Deployed", "Latitude", "Longitude", "Depth (m)", "Status"],
    ["HRB-03", "Gull Point shelf", "2024-11-02", "-48.9121", "-31.5540", "88", "active"],
    ["HRB-07", "Merrow Trench", "2025-02-11", "-48.9907", "-31.6012", "386", "recovered"],
    ["HRB-09", "Lagoon mouth", "2025-03-20", "-48.9502", "-31.5218", "17", "active"],
    ["HRB-11", "Outer Bank", "2025-04-08", "-49.0410", "-31.7103", "640", "lost"],
]

# --------------------------------------------------------------------- EPUB: history, 3 ch.
HISTORY_TITLE = "A Short History of Halcyon Reach"
CHAPTERS: list[tuple[str, list[str]]] = [
    (
        "Founding",
        [
            "Halcyon Reach was founded in 1987 by the oceanographer Tomas Vellacourt, who "
            "landed on Merrow Island with four colleagues and a prefabricated hut.",
            "That first hut, nicknamed the Tin Chapel for its curved roof, still stands above "
            "the landing beach and now stores kayaks.",
        ],
    ),
    (
        "The Great Storm",
        [
            "On 19 July 2004 the worst storm in the station's records struck the island. The "
            "mast anemometer measured gusts of 96 knots before it was torn away.",
            "The storm destroyed the old wooden pier; for two seasons every supply was landed "
            "by boat onto the beach.",
        ],
    ),
    (
        "The Aurora Wing",
        [
            "The Aurora Wing opened in 2019 after three summers of construction and cost EUR 2.6 "
            "million.",
            "It houses the clean-air laboratory, whose inlets sit upwind of every generator on "
            "the island.",
        ],
    ),
]

# -------------------------------------------------------------------------- HTML: news page
NEWS_NOISE = "ZX-NOISE-991"  # appears only in script/nav/footer: a loader must drop it

# ------------------------------------------------------------------------- code: tide script
TIDE_OFFSET_MM = 137

# --------------------------------------------------------------------------- the question set
#: source file -> [(question, accepted answers, page)]; answers match case-insensitively.
QUESTIONS_BY_FILE: dict[str, list[tuple[str, list[str], int]]] = {
    "annual_report_2025.pdf": [
        ("Who is the station director of Halcyon Reach?", ["Marchetti-Okafor"], 1),
        ("How many people were in the 2025 winter crew at Halcyon Reach?", ["27"], 2),
        ("What was the peak summer population at Halcyon Reach in 2025?", ["64"], 2),
        ("Which mechanic is the longest-serving crew member?", ["Obi Lindgren"], 2),
        ("What was the total operating budget for 2025?", ["4.82 million"], 3),
        ("What share of spending went on fuel in 2025?", ["31 percent", "31%"], 3),
        ("Which body provided the research grants?", ["Tidewater Science Council"], 3),
        ("How many GPS tags were fitted to Merrow petrels?", ["118"], 4),
        ("How long was the longest recorded petrel foraging trip?", ["2,340 km", "2340 km"], 4),
        ("In which hut did the generator fire happen?", ["Hut C"], 5),
        ("On what date did the generator fire break out?", ["14 March", "March 14"], 5),
    ],
    "field_safety_handbook.docx": [
        ("Above what sustained wind speed may no small boat be launched?", ["18 knots"], 1),
        ("What is the swell limit for launching a small boat?", ["1.5 metres", "1.5 m"], 1),
        ("What is the minimum crew for a small-boat trip?", ["three", "3 people"], 1),
        ("Where is the muster point when an alarm sounds?", ["Anemometer Mast"], 1),
        ("Which radio channel do field parties on Summit Ridge use?", ["71"], 1),
        ("What is the radio call sign of the Lagoon zone?", ["Heron"], 1),
        ("What is the issue code of the expedition parka?", ["PK-77"], 1),
    ],
    "council_minutes_2025-06-02.odt": [
        (
            "Which desalination unit did the station council approve?",
            ["AquaPure DX-40", "DX-40"],
            1,
        ),
        ("How much does the second desalination unit cost?", ["38,500", "38500"], 1),
        ("Who chaired the council meeting of 2 June 2025?", ["Haruto Bellweather"], 1),
        ("When is the next station council meeting?", ["15 September", "September 15"], 1),
        ("Who must draft the new quad-bike policy?", ["Mireille Duarte"], 1),
    ],
    "onboarding_2025.pptx": [
        ("How long is Merrow Island?", ["14 km"], 2),
        ("Which permit is needed to ride a quad bike?", ["QB-2"], 2),
        ("At what time is Sunday brunch served?", ["10:30"], 3),
        ("When do quiet hours start?", ["22:00"], 4),
        ("How is the sauna booked?", ["whiteboard"], 4),
        ("Who is the station medic?", ["Tamsin Fairweather"], 5),
        ("In which room is the station medic?", ["A-104"], 5),
    ],
    "stores_and_fleet.xlsx": [
        ("How many thermistor strings (item HR-2231) are in stock?", ["14"], 1),
        ("Where are the spare drone battery packs stored?", ["Store D"], 1),
        ("How long is the RV Petrel Dawn?", ["12.4"], 2),
        ("In which year was the boat Skua commissioned?", ["2021"], 2),
    ],
    "buoy_deployments.csv": [
        ("At what depth was buoy HRB-07 deployed?", ["386"], 1),
        ("Which buoy is listed as lost?", ["HRB-11"], 1),
    ],
    "history_of_halcyon_reach.epub": [
        ("Who founded Halcyon Reach?", ["Tomas Vellacourt"], 1),
        ("In which year was Halcyon Reach founded?", ["1987"], 1),
        ("What was the first hut on Merrow Island nicknamed?", ["Tin Chapel"], 1),
        ("What wind gust was measured during the Great Storm of 2004?", ["96 knots"], 2),
        ("What did the Great Storm destroy?", ["pier"], 2),
        ("How much did the Aurora Wing cost?", ["2.6 million"], 3),
    ],
    "station_news.html": [
        ("Who is the new cook at the station?", ["Rafael Ondaatje"], 1),
        ("How often does the supply ship call at Merrow Island?", ["six weeks", "6 weeks"], 1),
        ("Where has the station library moved to?", ["Hut F"], 1),
    ],
    "data_management.md": [
        ("To which server are the nightly backups copied?", ["VAULT-2"], 1),
        ("How long is raw data kept?", ["seven years", "7 years"], 1),
    ],
    "lab_booking.rst": [
        ("How far in advance must the Orbit-9 mass spectrometer be booked?", ["48 hours"], 1),
        ("Who is the laboratory manager?", ["Priya Santhanam"], 1),
    ],
    "wildlife_log_2025.txt": [
        ("How many Merrow petrel nesting pairs were counted at Gull Point?", ["412"], 1),
        ("How many elephant seal pups were counted on the east beaches?", ["58"], 1),
    ],
    "tide_correction.py": [
        ("What tide offset in millimetres does the tide correction script apply?", ["137"], 1),
        ("Which tide gauge is the reference for the tide correction?", ["TG-Merrow-3"], 1),
    ],
    "station_config.json": [
        ("What is the station's radio callsign?", ["HRX-7"], 1),
        ("What is the capacity of the generator fuel tank?", ["12,000", "12000"], 1),
        ("What is the monthly satellite data quota?", ["40 GB", "40"], 1),
    ],
}

#: (question, answers, source file, page), in file order.
QUESTIONS: list[tuple[str, list[str], str, int]] = [
    (q, answers, name, page)
    for name, items in QUESTIONS_BY_FILE.items()
    for q, answers, page in items
]
