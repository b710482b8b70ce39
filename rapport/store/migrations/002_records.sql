-- Record documents (exactly {"r": canonical base64}: the ledger's pairs) are kept as their bytes
-- in `rec`, and `doc` is NULL for them: a million pairs then load as a few hundred rows of
-- records the server concatenates (string_agg), not a JSON text and a base64 decode per pair.
-- load() still hands such a row out as {"r": base64}. Rows written before keep their doc.
ALTER TABLE documents ALTER COLUMN doc DROP NOT NULL;
ALTER TABLE documents ADD COLUMN rec bytea;
ALTER TABLE documents ADD CONSTRAINT documents_doc_or_rec CHECK ((doc IS NULL) <> (rec IS NULL));
