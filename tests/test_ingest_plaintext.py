"""The plain-text reader (rag/ingest/plaintext.py): texts laid out for reading.

A manual page (title from NAME, each option with its description as one part,
header and footer out, nothing of its first lines lost), hard-wrapped prose
(hyphenated line ends joined, with "-", U+2010 or a soft hyphen; headings by
shape; pages put together again), pandoc's plain output (notes listed at the
end, called as "[n]"), tables ruled with dashes, and the test that sends a web
page's text dump to the page reading instead. The texts are written here: no
manual page of the system is read."""

from __future__ import annotations

from pathlib import Path

from conftest import ingest_text
from rag.ingest import ingest_file
from rag.ingest.plaintext import looks_like_page_dump, read_plaintext

MAN_PAGE = """\
FROB(1)                      User Commands                      FROB(1)

NAME
       frob - frobnicate the files of a project

SYNOPSIS
       frob [OPTION]... [FILE]...

DESCRIPTION
       Frobnicate  each  FILE  in  place,  keeping  a  copy  of  the  original
       next to it.  With no FILE, frob reads the standard input and writes the
       frobnicated text to the standard out\u2010
       put.

       -a, --all
              frobnicate hidden files too, those whose names start with a dot.

       -k, --keep=N
              keep N copies of each original file; the oldest copy is removed
              when a new one is made.

              Copies are kept in the folder of the original file.

       -q     say nothing, not even the warnings.

   Exit status
       0      if every file was frobnicated,

       1      if a file could not be read.

EXAMPLES
       Frobnicate every text file:

              frob *.txt

AUTHOR
       Written by Ada Example.

frob 2.1                          March 2024                        FROB(1)
"""


def test_a_manual_page_is_read_by_its_layout(tmp_path):
    assert not looks_like_page_dump(MAN_PAGE)
    doc = ingest_text(tmp_path, "frob.txt", MAN_PAGE)
    assert doc.title == "frob - frobnicate the files of a project"
    texts = [p.text for p in doc.paragraphs]
    # nothing of the first lines is lost: NAME and SYNOPSIS are passages too
    assert texts[:3] == [
        "frob - frobnicate the files of a project",
        "frob [OPTION]... [FILE]...",
        "Frobnicate each FILE in place, keeping a copy of the original next to it. With no FILE, frob reads the "
        "standard input and writes the frobnicated text to the standard output.",
    ]
    options = {p.context: p.text for p in doc.paragraphs if p.context}
    assert options["-a, --all"] == "frobnicate hidden files too, those whose names start with a dot."
    assert options["-k, --keep=N"] == ("keep N copies of each original file; the oldest copy is removed when a new one "
                                       "is made. Copies are kept in the folder of the original file.")
    assert options["-q"] == "say nothing, not even the warnings."
    assert options["0"] == "if every file was frobnicated,"
    assert "frob *.txt" in texts and "Written by Ada Example." in texts
    assert [s.title for s in doc.sections] == ["NAME", "SYNOPSIS", "DESCRIPTION", "Exit status", "EXAMPLES", "AUTHOR"]
    reasons = {d.text: d.reason for d in doc.dropped}
    assert reasons == {"FROB(1) User Commands FROB(1)": "the manual page's header line",
                       "frob 2.1 March 2024 FROB(1)": "the manual page's footer line"}


def test_manual_page_parts_are_definitions_with_the_option_as_context():
    parts = read_plaintext(MAN_PAGE).parts
    kinds = [(p.kind, p.text) for p in parts if p.context == "-a, --all" or p.text == "-a, --all"]
    assert kinds == [("term", "-a, --all"),
                     ("definition", "frobnicate hidden files too, those whose names start with a dot.")]
    assert ("code", "frob *.txt") in [(p.kind, p.text) for p in parts]


WRAPPED = """\
The Keeping of Bees
===================

1. Hives and their placement

A hive should stand in a quiet corner of the garden, sheltered from the
north wind and facing the morning sun. The entrance must never face a
path where people walk, be\u2010
cause the guards take any passer-by for an intruder and de-
fend the colony, all through the sea\u00ad
son. Beekeepers call such a hive a well-placed hive, and a well-
known proverb says it gives more honey than a nervous one. The rules
of the Build-
Depends field are another matter.

1.1 Feeding in winter

In a cold winter the colony eats about twenty kilograms of honey. When
the stores run short, a thick syrup of sugar and water keeps the bees
alive until the
\f
Bee Notes                                                       page 2

first flowers of spring, when the workers fly out again to the
orchards around the apiary.

QUEENS AND DRONES

A colony has a single queen, who lays up to two thousand eggs a day in
the height of summer.

Bee Notes                                                       page 3
"""


def test_hard_wrapped_prose_is_joined_and_its_headings_found(tmp_path):
    assert not looks_like_page_dump(WRAPPED)
    doc = ingest_text(tmp_path, "bees.txt", WRAPPED)
    assert doc.title == "The Keeping of Bees"
    first = doc.paragraphs[0].text
    assert first == (
        "A hive should stand in a quiet corner of the garden, sheltered from the north wind and facing the morning "
        "sun. The entrance must never face a path where people walk, because the guards take any passer-by for an "
        "intruder and defend the colony, all through the season. Beekeepers call such a hive a well-placed hive, and "
        "a well-known proverb says it gives more honey than a nervous one. The rules of the Build-Depends field are "
        "another matter."
    )
    # a paragraph cut by the page break is one paragraph again; the running lines are gone
    assert doc.paragraphs[1].text == (
        "In a cold winter the colony eats about twenty kilograms of honey. When the stores run short, a thick syrup "
        "of sugar and water keeps the bees alive until the first flowers of spring, when the workers fly out again "
        "to the orchards around the apiary."
    )
    assert [s.title for s in doc.sections] == ["1. Hives and their placement", "1.1 Feeding in winter",
                                               "QUEENS AND DRONES"]
    assert doc.paragraphs[1].section == "1.1 Feeding in winter"
    assert len(doc.paragraphs) == 3
    assert {d.reason for d in doc.dropped} == {"running header or footer (repeated at the page breaks)"}
    assert all("Bee Notes" not in p.text for p in doc.paragraphs)


PANDOC_PLAIN = """\
Chapter 8. Updating the package

After you release a package, you will soon need to update it. The
rewrite of this tutorial is available as Guide for Debian Maintainers.

8.1. New Debian revision

Let's say that a bug report was filed against your package as #654321,
and it describes a problem that you can solve. Here's what you need to
do to create a new Debian revision of the package:

-   If this is to be recorded as a new patch, do these:

    -   dquilt new bugname.patch to set the patch name;

    -   dquilt refresh to record it to bugname.patch.

-   Add a new revision at the top of the Debian changelog file, for
    example with dch -i [1].

Then build the package again with the command below [2]:

    $ debuild
    $ lintian -i

  Section   Contents
  --------- ------------------------------
  1         User commands
  8         System administration

[1] To get the date into the required format, use LANG=C date -R.

[2] See the build chapter, or https://example.org/build for the details.

    A second paragraph of the second note.
"""


def test_pandoc_plain_output_with_notes_lists_and_code(tmp_path):
    doc = ingest_text(tmp_path, "update.txt", PANDOC_PLAIN)
    assert doc.title == "Chapter 8. Updating the package"
    by_text = {p.text: p for p in doc.paragraphs}
    item = by_text["Add a new revision at the top of the Debian changelog file, for example with dch -i [1]."]
    assert item.context == "Here's what you need to do to create a new Debian revision of the package:"
    assert item.footnotes == (1,)
    nested = by_text["dquilt new bugname.patch to set the patch name;"]
    assert nested.context == "If this is to be recorded as a new patch, do these:"
    assert "$ debuild\n$ lintian -i" in by_text
    row = by_text["8 | System administration"]
    assert row.context == "Section | Contents"
    assert [(f.number, f.url) for f in doc.footnotes] == [(1, None), (2, "https://example.org/build")]
    assert doc.footnotes[1].text == ("See the build chapter, or https://example.org/build for the details. "
                                     "A second paragraph of the second note.")
    assert not any(p.text.startswith("[1]") or "second note" in p.text for p in doc.paragraphs)
    assert by_text["Then build the package again with the command below [2]:"].footnotes == (2,)


def test_a_web_page_dump_keeps_the_page_reading(tmp_path):
    dump = ("Accueil\nPolitique\nÉconomie\nCulture\n\n"
            "Les abeilles sauvages face à la chaleur\n\nPar Jeanne Martin, le 3 février 2020\n\n"
            "Les abeilles sauvages supportent mal les vagues de chaleur qui se multiplient en Europe, selon une "
            "étude menée pendant trois étés dans le Languedoc par une équipe de l'université de Montpellier.\n\n"
            "Les nids creusés dans le sol atteignent des températures que les larves ne supportent pas au-delà de "
            "quelques jours, et les colonies perdent jusqu'à un tiers de leurs butineuses au cœur de l'été.\n\n"
            "Les chercheurs recommandent de laisser des haies et des talus ombragés près des cultures, où les "
            "abeilles trouvent de la fraîcheur et des fleurs pendant les semaines les plus chaudes.\n")
    assert looks_like_page_dump(dump)
    doc = ingest_text(tmp_path, "page.txt", dump)
    assert doc.authors == ("Jeanne Martin",)  # the page reading finds the byline
    assert doc.format == "text"


def test_the_seeds_are_page_dumps():
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("seeds").glob("*.txt")):
        assert looks_like_page_dump(path.read_text(encoding="utf-8")), path.name


def test_an_unreadable_text_is_a_one_line_error(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("Notes on hives\n==============\n\n" + "-" * 70 + "\n" + "-" * 70 + "\n", encoding="utf-8")
    try:
        ingest_file(path)
    except Exception as e:  # noqa: BLE001
        assert type(e).__name__ == "IngestError" and "\n" not in str(e) and str(path) in str(e)
    else:
        raise AssertionError("a text with no paragraph must not give a document")
