"""The similar-appeal lookup moves out of the web processes into PostgreSQL's text search.

``routing_similartext`` holds one row per appeal: the distinct character bigrams of its folded
text (``Appeal.search_text``) as a ``tsvector``, with a GIN index over the live rows (not merged,
not invalid). A trigger on ``appeals_appeal`` keeps it in step inside the writing transaction,
so a new appeal is findable the moment it commits and no process holds an index of its own.
``routing_bigrams`` is the one definition of a bigram on the database side; the Python side
(``kuaiban.routing.similar.bigrams``) mirrors it and a test compares the two.

The bigram column gets a larger statistics target: ANALYZE (and autovacuum) then keep the
frequencies of the 10,000 most common bigrams in ``pg_stats``, which the lookup reads to query
the rare bigrams of a text first and to weight them (IDF).

On SQLite only the (empty) table is created; the lookup scans the recent appeals there.
"""

import django.db.models.deletion
import django.contrib.postgres.search
from django.db import migrations, models

KEPT = r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+"

FORWARD = [
    # plpgsql, not SQL: the kept characters are computed once, split once, and paired up
    # (an SQL function re-ran the regular expression and ``substr`` walked the text for each
    # pair: 20x slower, 1 ms an appeal).
    rf"""
CREATE OR REPLACE FUNCTION routing_bigrams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  kept text := regexp_replace(t, '{KEPT}', '', 'g');
  c text[];
BEGIN
  IF kept = '' THEN
    RETURN '{{}}';
  END IF;
  c := regexp_split_to_array(kept, '');
  IF cardinality(c) = 1 THEN
    RETURN c;
  END IF;
  RETURN ARRAY(SELECT c[i] || c[i + 1] FROM generate_series(1, cardinality(c) - 1) AS i);
END
$$
""",
    """
CREATE OR REPLACE FUNCTION routing_similartext_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND NEW.search_text IS NOT DISTINCT FROM OLD.search_text
     AND NEW.received_at IS NOT DISTINCT FROM OLD.received_at
     AND (NEW.status IN ('merged', 'invalid')) = (OLD.status IN ('merged', 'invalid')) THEN
    RETURN NULL;
  END IF;
  INSERT INTO routing_similartext (appeal_id, received_at, live, grams)
  VALUES (NEW.id, NEW.received_at, NEW.status NOT IN ('merged', 'invalid'),
          array_to_tsvector(routing_bigrams(coalesce(NEW.search_text, ''))))
  ON CONFLICT (appeal_id) DO UPDATE
    SET received_at = EXCLUDED.received_at, live = EXCLUDED.live, grams = EXCLUDED.grams;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER routing_similartext_sync
AFTER INSERT OR UPDATE OF search_text, received_at, status ON appeals_appeal
FOR EACH ROW EXECUTE FUNCTION routing_similartext_sync()
""",
    """
INSERT INTO routing_similartext (appeal_id, received_at, live, grams)
SELECT id, received_at, status NOT IN ('merged', 'invalid'),
       array_to_tsvector(routing_bigrams(coalesce(search_text, '')))
FROM appeals_appeal
ON CONFLICT (appeal_id) DO NOTHING
""",
    "CREATE INDEX routing_similartext_grams ON routing_similartext USING gin (grams) WHERE live",
    "ALTER TABLE routing_similartext ALTER COLUMN grams SET STATISTICS 1000",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS routing_similartext_sync ON appeals_appeal",
    "DROP FUNCTION IF EXISTS routing_similartext_sync()",
    "DROP INDEX IF EXISTS routing_similartext_grams",
    "DROP FUNCTION IF EXISTS routing_bigrams(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0002_system_user"),
        ("appeals", "0009_location_supporters"),
    ]

    operations = [
        migrations.CreateModel(
            name="SimilarText",
            fields=[
                (
                    "appeal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="appeals.appeal",
                    ),
                ),
                ("received_at", models.DateTimeField()),
                ("live", models.BooleanField(default=True)),
                ("grams", django.contrib.postgres.search.SearchVectorField(null=True)),
            ],
            options={
                "verbose_name": "similar-appeal search row",
                "verbose_name_plural": "similar-appeal search rows",
            },
        ),
        migrations.RunPython(forward, backward),
    ]
