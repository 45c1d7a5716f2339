"""What the policy says about courses and categories, for the stages that ask (§6.4, §6.5).

Not a stage of its own: the ledger asks which course an activity names and whether it is
structured, the completions ask what a course is worth, the credit asks for each category's
cap and minimum.

- **Courses.** The policy workbook's Courses sheet (``origin="policy"``) decides; a platform's
  own course list (Thrive contents with their duration, Coursepath courses) fills what the
  sheet does not say. Of two rows for the same (system, course_id) the first counts.
- **Categories.** A category is known by its name trimmed, case-folded, runs of white space
  as one space ("CLINICAL  SKILLS" is "Clinical Skills"). Its rules (structured,
  ``min_minutes``, ``max_minutes``) come from the policy Categories sheet; a platform's
  category list (Thrive ``cpdCategories``) names the same categories and usually carries no
  rules, so its rows only fill a value the sheet leaves blank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reconcile.engine.text import normalise_names, normalise_titles, normalised_keys

#: What a completion takes from its course.
COURSE_FACTS = ("title", "cpd_minutes", "category", "structured", "thrive_content_id")


@dataclass(frozen=True)
class Catalogue:
    """Courses and categories as the policy and the platforms describe them."""

    #: Courses-sheet rows, the first per (system, course_id); the index is the row's position
    #: in the canonical catalogue table; ``title_key`` and ``category_key`` added.
    courses: pd.DataFrame
    #: The platforms' own course lists, the first row per (system, course_id).
    contents: pd.DataFrame
    #: Per category key: ``structured`` (nullable), ``max_minutes``, ``min_minutes`` (NaN: none).
    categories: pd.DataFrame

    @classmethod
    def build(cls, catalogue: pd.DataFrame, categories: pd.DataFrame) -> Catalogue:
        catalogue = catalogue.reset_index(drop=True)
        from_sheet = (catalogue["origin"] == "policy").to_numpy()
        courses = catalogue[from_sheet].drop_duplicates(["system", "course_id"])
        courses = courses.assign(
            title_key=normalised_keys(courses["title"], normalise_titles),
            category_key=normalised_keys(courses["category"], normalise_names),
        )
        contents = catalogue[~from_sheet].drop_duplicates(["system", "course_id"])
        return cls(courses, contents, category_rules(categories))

    def course_named(self, activities: pd.DataFrame) -> pd.Series:
        """The Courses-sheet row each activity names (-1: none): its own course_id in the
        same system, else its normalised title equal to a course's (the first such course)."""
        by_title = self.courses.dropna(subset=["title_key"]).drop_duplicates("title_key")
        first_by_title = pd.Series(by_title.index, index=by_title["title_key"].astype("str"))
        course = activities["title_key"].map(first_by_title).astype("float64")
        has_id = activities["course_id"].notna().to_numpy()
        on = ["system", "course_id"]
        by_id = activities.loc[has_id, on].merge(
            self.courses[on].dropna().reset_index(names="course"), on=on, how="left"
        )
        found = by_id["course"].to_numpy(dtype="float64")
        course[has_id] = np.where(np.isnan(found), course[has_id].to_numpy(), found)
        return course.fillna(-1).astype(np.int64)

    def course_facts(self, completions: pd.DataFrame) -> pd.DataFrame:
        """Per completion: title, cpd_minutes, category, structured, thrive_content_id.

        The Courses sheet first, then the platform's own course list; CPD minutes from a
        course list only for Thrive (a content's duration): a Coursepath course carries none.
        """
        on = ["system", "course_id"]
        wanted = completions[on].drop_duplicates()
        sheet = wanted.merge(self.courses[[*on, *COURSE_FACTS]], on=on, how="left")
        platform = wanted.merge(self.contents[[*on, *COURSE_FACTS]], on=on, how="left")
        facts = sheet[on].copy()
        for column in COURSE_FACTS:
            facts[column] = sheet[column].fillna(platform[column])
        not_thrive = (sheet["system"] != "thrive").to_numpy()
        facts.loc[not_thrive, "cpd_minutes"] = sheet.loc[not_thrive, "cpd_minutes"]
        facts["structured"] = facts["structured"].astype("boolean")
        return completions[on].merge(facts, on=on, how="left")[list(COURSE_FACTS)]

    def category_structured(self, category_key: pd.Series) -> pd.Series:
        """The Categories sheet's structured flag for each key (NA: not said)."""
        return category_key.map(self.categories["structured"]).astype("boolean")


def category_rules(categories: pd.DataFrame) -> pd.DataFrame:
    """Per category key, each rule's first value given: the sheet's rows before the platform's."""
    from_sheet = categories["source_table"].str.startswith("policy/").to_numpy(dtype=bool)
    rows = categories.assign(
        key=normalised_keys(categories["category"], normalise_names), from_sheet=from_sheet
    )
    rows = rows.dropna(subset=["key"]).sort_values("from_sheet", ascending=False, kind="stable")
    first_given = rows.groupby("key", sort=False)[["structured", "max_minutes", "min_minutes"]]
    rules = first_given.first()  # first non-missing value per column
    rules["structured"] = rules["structured"].astype("boolean")
    return rules.astype({"max_minutes": "float64", "min_minutes": "float64"})


def category_names(categories: pd.Series, activities: pd.Series, catalogue: Catalogue) -> pd.Series:
    """Display name per category key: the first spelling met in the Categories sheet (and a
    platform's category list), else in the records, else in the course lists."""
    spellings = [
        categories,
        activities,
        catalogue.courses["category"],
        catalogue.contents["category"],
    ]
    written = pd.concat(
        [pd.Series(spelling.dropna().unique(), dtype="str") for spelling in spellings],
        ignore_index=True,
    )
    names = pd.DataFrame({"key": normalise_names(written), "name": written})
    names = names[(names["key"].str.len() > 0).to_numpy()].drop_duplicates("key")
    return names.set_index("key")["name"]


def display_categories(keys: pd.Series, names: pd.Series) -> pd.Categorical:
    """Each record's category by its display name (``keys``: categorical category keys)."""
    return keys.cat.rename_categories(names.reindex(keys.cat.categories).tolist()).array
