"""Fixed vocabularies of the generated organisation: names, departments, audiences, courses.

Kept apart from the generator so the numbers-and-arrays code stays readable. Every list here
is small (a few hundred entries at most) and is only ever *indexed* by vectorised code.

Rules the generator relies on (checked by the tests):
- every activity title (templates × topics, plus the standalone titles) has a distinct
  normalised form, and none equals a course's normalised form, so a background activity can
  never be mistaken for a catalogue course claim;
- titles differ from one another by letters, not by punctuation alone, so the two common
  readings of "strip punctuation" (delete it, or turn it into a space) agree on every title.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    """A paragraph of names reads better than a list literal of 100 quoted strings."""
    return tuple(text.split())


FIRST_NAMES = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Evie Ella "
    "Sophie Florence Charlotte Poppy Emily Daisy Alice Harper Sienna Matilda Chloe Ruby Emma "
    "Maya Zara Aisha Priya Fatima Mei Yuki Ana Lucia Chiara Ingrid Niamh Siobhan Aoife Nia "
    "Noah Oliver George Arthur Muhammad Leo Harry Oscar Archie Henry Theodore Freddie Jack "
    "Charlie Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy "
    "Alexander Luca Edward James Joshua Albert Elijah Samuel Daniel Mason Adam Omar Rahul "
    "Arjun Wei Hiroshi Mateo Diego Marco Lars Sean Ciaran Rhys Kwame Tunde Dmitri Pavel"
)

LAST_NAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan "
    "Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell "
    "Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan "
    "Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb "
    "Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes "
    "Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Nguyen "
    "Kowalski Okafor Mensah Rossi Garcia Fernandez Tanaka Chen Wang Kim Novak Schmidt Dubois"
)

EMAIL_DOMAIN = "acme-health.example"
AGENCY_DOMAIN = "locum-agency.example"
PERSONAL_DOMAIN = "mail.example"

# (name, reference, Thrive requiredMinutes or None, policy (required, structured) or None,
#  policy row keyed by reference instead of name)
AUDIENCES: tuple[tuple[str, str, int | None, tuple[int, int] | None, bool], ...] = (
    ("Nurses", "AUD-NUR", 1800, (1800, 600), False),
    ("Midwives", "AUD-MID", 1800, None, False),
    ("Doctors", "AUD-DOC", 2000, (2400, 1200), False),
    ("Pharmacists", "AUD-PHA", 2100, (2100, 900), False),
    ("Allied Health", "AUD-AHP", 1500, None, False),
    ("Healthcare Assistants", "AUD-HCA", 1200, None, False),
    ("Paramedics", "AUD-PAR", 1800, (1800, 300), True),
    ("Finance", "AUD-FIN", None, (1200, 0), False),
    ("Administrative Staff", "AUD-ADM", None, None, False),
)

# (department, index of its usual audience in AUDIENCES)
DEPARTMENTS: tuple[tuple[str, int], ...] = (
    ("Emergency Department", 0),
    ("Acute Medical Unit", 0),
    ("Cardiology", 2),
    ("Critical Care", 0),
    ("Theatres", 0),
    ("Maternity", 1),
    ("Neonatal Unit", 1),
    ("Paediatrics", 0),
    ("Oncology", 2),
    ("Haematology", 2),
    ("Respiratory Medicine", 2),
    ("Gastroenterology", 2),
    ("Renal Unit", 0),
    ("Stroke Unit", 0),
    ("Orthopaedics", 2),
    ("General Surgery", 2),
    ("Elderly Care", 5),
    ("Community Nursing", 0),
    ("Mental Health Liaison", 0),
    ("Outpatients", 5),
    ("Pharmacy", 3),
    ("Aseptic Services", 3),
    ("Physiotherapy", 4),
    ("Occupational Therapy", 4),
    ("Radiology", 4),
    ("Pathology", 4),
    ("Dietetics", 4),
    ("Speech and Language Therapy", 4),
    ("Ambulance Liaison", 6),
    ("Patient Transport", 6),
    ("Finance", 7),
    ("Payroll", 7),
    ("Procurement", 7),
    ("Human Resources", 8),
    ("Medical Records", 8),
    ("Estates and Facilities", 8),
    ("Information Technology", 8),
    ("Governance and Risk", 8),
    ("Education and Training", 0),
    ("Infection Prevention", 0),
)

# (name, structured, min_minutes or None, max_minutes or None)
CATEGORIES: tuple[tuple[str, bool, int | None, int | None], ...] = (
    ("Mandatory training", True, 240, None),
    ("Courses and conferences", True, None, None),
    ("Clinical practice", False, None, None),
    ("Research and evidence", False, None, None),
    ("Teaching and supervision", False, None, 900),
    ("Reflective practice", False, None, 600),
    ("Self-directed learning", False, None, 1200),
)

# Brightspace's own method lookup, used as the "how" of a record.
METHODS = (
    "Course",
    "Conference",
    "Webinar",
    "Journal club",
    "Reading",
    "Reflection",
    "Workshop",
    "Teaching",
    "Audit",
)

# Activity templates: (prefix, Thrive activity type, category index, method index, minutes).
TEMPLATES: tuple[tuple[str, str, int, int, tuple[int, ...]], ...] = (
    ("Journal club", "Journal club", 3, 3, (30, 45, 60, 90)),
    ("Webinar", "Webinar", 1, 2, (30, 45, 60, 90, 120)),
    ("Conference", "Conference", 1, 1, (180, 240, 360, 420, 480)),
    ("Workshop", "Workshop", 1, 6, (90, 120, 180, 240)),
    ("Reading", "Reading", 6, 4, (15, 30, 45, 60)),
    ("Reflective practice", "Reflection", 5, 5, (15, 30, 45, 60)),
    ("Case review", "Clinical practice", 2, 5, (30, 45, 60, 90)),
    ("Teaching session", "Teaching", 4, 7, (45, 60, 90, 120)),
    ("Peer discussion", "Discussion", 5, 5, (30, 45, 60)),
    ("Clinical audit", "Audit", 3, 8, (60, 90, 120, 180)),
    ("Study day", "Study day", 1, 6, (360, 420, 480)),
    ("Podcast", "Podcast", 6, 4, (15, 30, 45)),
    ("Shadowing", "Clinical practice", 2, 5, (120, 180, 240)),
    ("Simulation", "Simulation", 2, 6, (60, 90, 120, 180)),
)

TOPICS = (
    "sepsis recognition",
    "acute kidney injury",
    "delirium in older adults",
    "heart failure management",
    "asthma in adults",
    "COPD exacerbations",
    "diabetic foot care",
    "insulin safety",
    "wound healing",
    "pressure injury prevention",
    "falls prevention",
    "frailty assessment",
    "end of life conversations",
    "palliative symptom control",
    "pain management",
    "opioid stewardship",
    "antimicrobial resistance",
    "hand hygiene audit results",
    "central line infections",
    "blood cultures",
    "paediatric early warning scores",
    "neonatal jaundice",
    "postpartum haemorrhage",
    "perinatal mental health",
    "breastfeeding support",
    "stroke thrombolysis",
    "atrial fibrillation",
    "chest pain pathways",
    "ECG interpretation",
    "arterial blood gases",
    "oxygen prescribing",
    "tracheostomy emergencies",
    "major trauma",
    "head injury",
    "safeguarding adults",
    "domestic abuse",
    "learning disabilities",
    "autism awareness",
    "dementia friendly care",
    "mental capacity",
    "medication errors",
    "polypharmacy",
    "anticoagulation",
    "nutrition screening",
    "dysphagia",
    "rehabilitation goals",
    "discharge planning",
    "human factors",
    "patient safety incidents",
    "quality improvement",
    "health inequalities",
    "shared decision making",
    "clinical leadership",
    "compassionate teams",
    "staff wellbeing",
    "budget planning",
    "procurement rules",
    "data protection",
    "cyber security",
    "digital records",
)

STANDALONE_TITLES = (
    "Sepsis update webinar",
    "Grand round",
    "Morbidity and mortality meeting",
    "Schwartz round",
    "Departmental teaching afternoon",
    "Regional nursing conference",
    "Annual pharmacy symposium",
    "Finance masterclass",
)
STANDALONE_TEMPLATE = (1, 0, 6, 0, 7, 2, 2, 3)  # template each standalone title borrows

# Thrive contents: (title, type, duration minutes, category index, listed in the Courses sheet
# with these CPD minutes or None).
THRIVE_CONTENTS: tuple[tuple[str, str, int, int, int | None], ...] = (
    ("Infection prevention and control", "eLearning", 45, 0, 60),
    ("Basic life support", "eLearning", 60, 0, 90),
    ("Safeguarding adults level 2", "eLearning", 60, 0, None),
    ("Safeguarding children level 3", "eLearning", 90, 0, 120),
    ("Fire safety awareness", "eLearning", 30, 0, None),
    ("Information governance and data security", "eLearning", 45, 0, None),
    ("Moving and handling", "eLearning", 45, 0, 60),
    ("Conflict resolution", "eLearning", 60, 0, None),
    ("Equality diversity and human rights", "eLearning", 30, 0, None),
    ("Medicines management essentials", "eLearning", 90, 2, 120),
    ("Blood transfusion practice", "eLearning", 60, 2, None),
    ("Sepsis recognition and management", "Video", 45, 2, 60),
    ("Falls prevention in hospital", "Video", 30, 2, None),
    ("Dementia awareness", "eLearning", 45, 2, None),
    ("Mental Capacity Act in practice", "eLearning", 60, 2, 60),
    ("Pressure ulcer prevention", "eLearning", 45, 2, None),
    ("Nutrition and hydration", "Article", 20, 6, None),
    ("Venepuncture and cannulation", "Classroom", 180, 1, 180),
    ("Oxygen therapy", "eLearning", 30, 2, None),
    ("Antimicrobial stewardship", "eLearning", 45, 2, 45),
    ("Duty of candour", "Video", 20, 0, None),
    ("Freedom to speak up", "Video", 15, 0, None),
    ("Preventing radicalisation", "eLearning", 30, 0, None),
    ("Health and safety at work", "eLearning", 30, 0, None),
    ("Hazardous substances COSHH", "eLearning", 30, 0, None),
    ("End of life care principles", "eLearning", 60, 2, 60),
    ("Learning disability awareness", "eLearning", 45, 0, None),
    ("Clinical record keeping", "Article", 20, 2, None),
)

# Coursepath courses: (name, category index, Courses-sheet CPD minutes or None (no CPD value),
#  also published in Thrive as an "External course" content for write-back).
COURSEPATH_COURSES: tuple[tuple[str, int, int | None, bool], ...] = (
    ("Advanced life support ALS", 1, 480, True),
    ("Immediate life support", 1, 360, True),
    ("Paediatric immediate life support", 1, 360, False),
    ("Clinical supervision skills", 4, 240, False),
    ("Leadership fundamentals", 1, 420, True),
    ("Budget management for managers", 1, 180, False),
    ("Non-medical prescribing update", 2, 240, True),
    ("Mentorship and practice assessment", 4, 300, False),
    ("Tracheostomy care", 2, 120, False),
    ("Wound care masterclass", 2, 180, False),
    ("Diabetes management update", 2, 120, False),
    ("Epilepsy and seizure management", 2, 90, False),
    ("Induction for new starters", 0, None, False),
    ("Using the rostering system", 6, None, False),
    ("Medical device training infusion pumps", 0, None, False),
    ("Root cause analysis", 3, 180, False),
)

ENTRY_DESCRIPTIONS = (
    "Attended in person",
    "Online session",
    "Discussed learning points with my team",
    "Notes kept in my portfolio",
    "Applied to my practice this week",
    "",
)

COUNTRIES = ("US",)
COMPANY = "Acme Health"

EXEMPT_REASONS = (
    "Maternity leave",
    "Long-term sick leave",
    "Career break",
    "Secondment abroad",
)
