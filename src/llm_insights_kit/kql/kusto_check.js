// Check a batch of KQL queries with Microsoft's Kusto language service (@kusto/language-service-next).
// stdin: {"package": "<dir of the npm package>", "database": "<name>",
//         "tables": {"<table>": [["<column>", "<kusto type>"], ...]},
//         "queries": [{"id": "<id>", "text": "<kql>"}]}
// stdout: [{"id": "<id>", "diagnostics": [{"severity", "code", "message", "start", "length"}]}]
// One process for the whole batch: loading the service takes about a second.
"use strict";

const path = require("path");

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function globalsFor(K, database, tables) {
  const symbols = Object.keys(tables)
    .sort()
    .map((name) => {
      const schema = "(" + tables[name].map(([col, type]) => `['${col}']:${type}`).join(", ") + ")";
      return new K.Symbols.TableSymbol.$ctor7(name, schema, "");
    });
  const db = new K.Symbols.DatabaseSymbol.$ctor3(database, null, symbols, false);
  return K.GlobalState.Default.WithDatabase(db);
}

async function main() {
  const request = JSON.parse(await readStdin());
  require(path.join(request.package, "bridge.min.js"));
  require(path.join(request.package, "Kusto.Language.Bridge.min.js"));
  const K = global.Kusto.Language;
  const globals = globalsFor(K, request.database, request.tables);
  const results = request.queries.map((q) => {
    const code = K.KustoCode.ParseAndAnalyze(q.text, globals);
    const list = code.GetDiagnostics();
    const diagnostics = [];
    for (let i = 0; i < list.Count; i++) {
      const d = list.getItem(i);
      diagnostics.push({
        severity: String(d.Severity),
        code: String(d.Code),
        message: String(d.Message),
        start: d.Start,
        length: d.Length,
      });
    }
    return { id: q.id, diagnostics };
  });
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
