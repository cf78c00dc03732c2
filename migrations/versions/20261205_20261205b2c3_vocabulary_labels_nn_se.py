"""vocabulary labels in Nynorsk and Northern Sami for every seeded term

Revision ID: 20261205b2c3
Revises: 20261205a1b2
Create Date: 2026-11-30 16:35:00

Fills label_nn and label_se by (scheme, code), and only where they are NULL: a label a librarian
has written or corrected on /vocab/ is kept. The Nynorsk labels are the seed migration's own
(b1c2d3e4f5a6 already wrote them; this fills them back where one was cleared). The Sami labels
are new and were written by a non-native speaker: the ones marked "needs review by a Sami
speaker" are listed in docs for a native reader, who can correct them on /vocab/ without a
migration.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205b2c3"
down_revision = "20261205a1b2"
branch_labels = None
depends_on = None

# (scheme, code) -> (label_nn, label_se). label_se None: the seed already wrote it, leave it.
LABELS = {
    ("trace_type", "boplass"): (
        "Buplass / tuft",
        "Ássanbáiki / viessosadji",  # needs review by a Sami speaker
    ),
    ("trace_type", "gravminne"): (
        "Gravminne (grav, gravhaug, røys)",
        "Hávdi (hávdi, hávdedievá, geađgehávdi)",  # needs review by a Sami speaker
    ),
    ("trace_type", "bergkunst"): (
        "Bergkunst (helleristing, hellemåling)",
        "Báktegovat (čuohppagovat, málejuvvon govat)",  # needs review by a Sami speaker
    ),
    ("trace_type", "fangstanlegg"): (
        "Fangstanlegg / fangstgrop",
        "Bivdosadji / bivdoroggi",  # needs review by a Sami speaker
    ),
    ("trace_type", "kullgrop"): (
        "Kolgrop / kolmile",
        "Hiilaroggi / hiilaboaldinsadji",  # needs review by a Sami speaker
    ),
    ("trace_type", "jernvinne"): (
        "Jernvinne",
        "Ruovdebuvttadansadji",  # needs review by a Sami speaker
    ),
    ("trace_type", "rydningsroys"): (
        "Rydningsrøys",
        "Bealdogeađgečoahkki",  # needs review by a Sami speaker
    ),
    ("trace_type", "steingjerde"): ("Steingjerde", "Geađgeáidi"),
    ("trace_type", "ferdselsspor"): (
        "Ferdselsspor (gamal veg, sti, slep)",
        "Johtolatluottat (boares geaidnu, bálggis)",  # needs review by a Sami speaker
    ),
    ("trace_type", "seter"): (
        "Seter / støl",
        "Geassedállu",  # needs review by a Sami speaker
    ),
    ("trace_type", "naust"): ("Naust", "Fanasgoahti"),
    ("trace_type", "samisk"): ("Samisk kulturminne (gamme, offerplass, reingjerde)", None),
    ("trace_type", "krigsminne"): (
        "Krigsminne (bunker, skyttargrav, leir)",
        "Soahtemuitu (bunkkar, soahteroggi, leaira)",  # needs review by a Sami speaker
    ),
    ("trace_type", "industriminne"): (
        "Industriminne (gruve, mølle, sag)",
        "Industriijamuitu (ruvke, milla, sahá)",  # needs review by a Sami speaker
    ),
    ("trace_type", "stedsnavn"): (
        "Stadnamn / munnleg tradisjon",
        "Báikenamma / njálmmálaš árbevierru",
    ),
    ("trace_type", "annet"): ("Anna", "Eará"),
    ("period", "eldre-steinalder"): (
        "Eldre steinalder (ca. 9500–4000 f.Kr.)",
        "Boarrásit geađgeáigi (sullii 9500–4000 o.Kr.)",  # needs review by a Sami speaker
    ),
    ("period", "yngre-steinalder"): (
        "Yngre steinalder (ca. 4000–1800 f.Kr.)",
        "Nuorat geađgeáigi (sullii 4000–1800 o.Kr.)",  # needs review by a Sami speaker
    ),
    ("period", "bronsealder"): (
        "Bronsealder (ca. 1800–500 f.Kr.)",
        "Bronsaáigi (sullii 1800–500 o.Kr.)",
    ),
    ("period", "jernalder"): (
        "Jernalder (500 f.Kr.–1050 e.Kr.)",
        "Ruovdeáigi (500 o.Kr.–1050 m.Kr.)",
    ),
    ("period", "vikingtid"): ("Vikingtid (800–1050)", "Viikingaáigi (800–1050)"),
    ("period", "middelalder"): ("Mellomalder (1050–1537)", "Gaskaáigi (1050–1537)"),
    ("period", "nyere-tid"): (
        "Nyare tid (etter 1537)",
        "Ođđasit áigi (maŋŋel 1537)",  # needs review by a Sami speaker
    ),
    ("period", "andre-verdenskrig"): (
        "Andre verdskrigen (1940–1945)",
        "Nubbi máilmmisoahti (1940–1945)",
    ),
    ("period", "ukjent"): ("Ukjend", "Dovdameahttun"),
    ("condition", "intakt"): ("Intakt", "Ollislaš"),
    ("condition", "delvis-skadet"): (
        "Delvis skadd",
        "Belohahkii billašuvvan",  # needs review by a Sami speaker
    ),
    ("condition", "sterkt-skadet"): (
        "Sterkt skadd",
        "Garrasit billašuvvan",  # needs review by a Sami speaker
    ),
    ("condition", "forsvunnet"): ("Forsvunne", "Jávkan"),
    ("condition", "ukjent"): ("Ukjend", "Dovdameahttun"),
    ("dating_method", "muntlig-kilde"): ("Munnleg kjelde", "Njálmmálaš gáldu"),
    ("dating_method", "skriftlig-kilde"): ("Skriftleg kjelde", "Čálalaš gáldu"),
    ("dating_method", "typologi"): ("Typologi", "Typologiija"),
    ("dating_method", "c14"): ("C14", "C14"),
    ("dating_method", "dendrokronologi"): ("Dendrokronologi", "Dendrokronologiija"),
    ("dating_method", "strandlinje"): (
        "Strandlinjedatering",
        "Áigemeroštallan gáddelinjá mielde",  # needs review by a Sami speaker
    ),
    ("dating_method", "annet"): ("Anna", "Eará"),
}

_FILL = sa.text(
    "UPDATE terms SET {column} = :value"
    " WHERE scheme = CAST(:scheme AS term_scheme) AND code = :code AND {column} IS NULL"
)
_UNFILL = sa.text(
    "UPDATE terms SET {column} = NULL"
    " WHERE scheme = CAST(:scheme AS term_scheme) AND code = :code AND {column} = :value"
)


def _statement(template: sa.TextClause, column: str) -> sa.TextClause:
    # Column names come from this file, never from data.
    return sa.text(template.text.format(column=column))


def upgrade():
    bind = op.get_bind()
    for (scheme, code), (nn, se) in LABELS.items():
        for column, value in (("label_nn", nn), ("label_se", se)):
            if value is not None:
                bind.execute(
                    _statement(_FILL, column), {"value": value, "scheme": scheme, "code": code}
                )


def downgrade():
    # Only the Sami labels: the Nynorsk ones are the seed migration's own values, so a label equal
    # to them cannot be told apart from the seed's and stays until b1c2d3e4f5a6 is downgraded.
    # A Sami label a librarian changed differs from ours and stays too.
    bind = op.get_bind()
    for (scheme, code), (_nn, se) in LABELS.items():
        if se is not None:
            bind.execute(
                _statement(_UNFILL, "label_se"), {"value": se, "scheme": scheme, "code": code}
            )
