"""seed the controlled vocabularies (docs/domain.md)

Revision ID: b1c2d3e4f5a6
Revises: fea0bd430e25
Create Date: 2026-11-25 12:10:00

Labels in Bokmål and English for every term, Nynorsk where it differs, Northern Sami where a
settled term exists. URIs to KulturNav / Getty AAT are left for librarians to add: a wrong link
is worse than none.
"""

import sqlalchemy as sa
from alembic import op

revision = "b1c2d3e4f5a6"
down_revision = "fea0bd430e25"
branch_labels = None
depends_on = None

# (code, nb, nn, en, se, sensitive, before_1537)
TRACE_TYPES = [
    ("boplass", "Boplass / tuft", "Buplass / tuft", "Settlement site, house foundation", None, False, False),
    ("gravminne", "Gravminne (grav, gravhaug, røys)", "Gravminne (grav, gravhaug, røys)", "Grave, burial mound, cairn", None, True, False),
    ("bergkunst", "Bergkunst (helleristning, hellemaling)", "Bergkunst (helleristing, hellemåling)", "Rock art: carvings, paintings", None, True, False),
    ("fangstanlegg", "Fangstanlegg / fangstgrop", "Fangstanlegg / fangstgrop", "Hunting pit, trapping system", None, True, False),
    ("kullgrop", "Kullgrop / kullmile", "Kolgrop / kolmile", "Charcoal pit, kiln", None, False, False),
    ("jernvinne", "Jernvinne", "Jernvinne", "Iron extraction site", None, False, False),
    ("rydningsroys", "Rydningsrøys", "Rydningsrøys", "Clearance cairn", None, False, False),
    ("steingjerde", "Steingjerde", "Steingjerde", "Stone wall", None, False, False),
    ("ferdselsspor", "Ferdselsspor (gammel vei, sti, slep)", "Ferdselsspor (gamal veg, sti, slep)", "Old road, path, track", None, False, False),
    ("seter", "Seter / støl", "Seter / støl", "Summer farm", None, False, False),
    ("naust", "Naust", "Naust", "Boathouse", None, False, False),
    ("samisk", "Samisk kulturminne (gamme, offerplass, reingjerde)", "Samisk kulturminne (gamme, offerplass, reingjerde)", "Sami heritage site: goahti, sacrificial site, reindeer fence", "Sámi kulturmuitu", True, False),
    ("krigsminne", "Krigsminne (bunker, skyttergrav, leir)", "Krigsminne (bunker, skyttargrav, leir)", "War remains: bunker, trench, camp", None, False, False),
    ("industriminne", "Industriminne (gruve, mølle, sag)", "Industriminne (gruve, mølle, sag)", "Mine, mill, sawmill", None, False, False),
    ("stedsnavn", "Stedsnavn / muntlig tradisjon", "Stadnamn / munnleg tradisjon", "Place name or story told", None, False, False),
    ("annet", "Annet", "Anna", "Other", None, False, False),
]
PERIODS = [
    ("eldre-steinalder", "Eldre steinalder (ca. 9500–4000 f.Kr.)", "Eldre steinalder (ca. 9500–4000 f.Kr.)", "Mesolithic (c. 9500–4000 BC)", None, True, True),
    ("yngre-steinalder", "Yngre steinalder (ca. 4000–1800 f.Kr.)", "Yngre steinalder (ca. 4000–1800 f.Kr.)", "Neolithic (c. 4000–1800 BC)", None, True, True),
    ("bronsealder", "Bronsealder (ca. 1800–500 f.Kr.)", "Bronsealder (ca. 1800–500 f.Kr.)", "Bronze Age (c. 1800–500 BC)", None, True, True),
    ("jernalder", "Jernalder (500 f.Kr.–1050 e.Kr.)", "Jernalder (500 f.Kr.–1050 e.Kr.)", "Iron Age (500 BC–AD 1050)", None, True, True),
    ("vikingtid", "Vikingtid (800–1050)", "Vikingtid (800–1050)", "Viking Age (AD 800–1050)", None, True, True),
    ("middelalder", "Middelalder (1050–1537)", "Mellomalder (1050–1537)", "Middle Ages (1050–1537)", None, True, True),
    ("nyere-tid", "Nyere tid (etter 1537)", "Nyare tid (etter 1537)", "Post-Reformation (after 1537)", None, False, False),
    ("andre-verdenskrig", "Andre verdenskrig (1940–1945)", "Andre verdskrigen (1940–1945)", "Second World War (1940–1945)", None, False, False),
    ("ukjent", "Ukjent", "Ukjend", "Unknown", None, False, False),
]
CONDITIONS = [
    ("intakt", "Intakt", "Intakt", "Intact", None, False, False),
    ("delvis-skadet", "Delvis skadet", "Delvis skadd", "Partly damaged", None, False, False),
    ("sterkt-skadet", "Sterkt skadet", "Sterkt skadd", "Badly damaged", None, False, False),
    ("forsvunnet", "Forsvunnet", "Forsvunne", "Gone", None, False, False),
    ("ukjent", "Ukjent", "Ukjend", "Unknown", None, False, False),
]
DATING_METHODS = [
    ("muntlig-kilde", "Muntlig kilde", "Munnleg kjelde", "Oral source", None, False, False),
    ("skriftlig-kilde", "Skriftlig kilde", "Skriftleg kjelde", "Written source", None, False, False),
    ("typologi", "Typologi", "Typologi", "Typology", None, False, False),
    ("c14", "C14", "C14", "Radiocarbon (C14)", None, False, False),
    ("dendrokronologi", "Dendrokronologi", "Dendrokronologi", "Dendrochronology", None, False, False),
    ("strandlinje", "Strandlinjedatering", "Strandlinjedatering", "Shoreline dating", None, False, False),
    ("annet", "Annet", "Anna", "Other", None, False, False),
]
SCHEMES = {
    "trace_type": TRACE_TYPES,
    "period": PERIODS,
    "condition": CONDITIONS,
    "dating_method": DATING_METHODS,
}

terms = sa.table(
    "terms",
    sa.column("scheme", sa.Enum(name="term_scheme", create_type=False)),
    sa.column("code", sa.String),
    sa.column("label_nb", sa.String),
    sa.column("label_nn", sa.String),
    sa.column("label_en", sa.String),
    sa.column("label_se", sa.String),
    sa.column("sort_order", sa.Integer),
    sa.column("sensitive", sa.Boolean),
    sa.column("before_1537", sa.Boolean),
)


def upgrade():
    rows = []
    for scheme, entries in SCHEMES.items():
        for order, (code, nb, nn, en, se, sensitive, old) in enumerate(entries):
            rows.append(
                {
                    "scheme": scheme, "code": code, "label_nb": nb, "label_nn": nn,
                    "label_en": en, "label_se": se, "sort_order": order * 10,
                    "sensitive": sensitive, "before_1537": old,
                }
            )
    op.bulk_insert(terms, rows)


def downgrade():
    op.execute("DELETE FROM terms WHERE scheme IN ('trace_type', 'period', 'condition', 'dating_method')")
