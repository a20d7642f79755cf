// Check a batch of KQL queries with Microsoft's Kusto language service (@kusto/language-service-next).
// stdin: {"package": "<dir of the npm package>", "database": "<name>",
//         "tables": {"<table>": [["<column>", "<kusto type>"], ...]},
//         "queries": [{"id": "<id>", "text": "<kql>"}]}
// stdout: [{"id": "<id>", "diagnostics": [{"severity", "code", "message", "start", "length"}],
//           "columns": [["<column>", "<kusto type>"], ...] | null,   (the query's result schema)
//           "syntax": [{"kind", "name", "start"}]}]                  (operators alert rules restrict)
// The result schema is KustoCode.ResultType (null when the query's result is not a table); the
// syntax uses come from walking the syntax tree, so a word inside a string literal or comment
// never counts. One process for the whole batch: loading the service takes about a second.
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

// What log search alert queries may not use (see llm_insights_kit/alerts/constraints.py):
// operators (union, search, take/limit), evaluate plugins, names (AggregatedValue) and functions.
const PLUGINS = new Set(["bag_unpack", "pivot", "narrow"]);
const FUNCTIONS = new Set(["ago", "ingestion_time"]);

function syntaxUses(K, root) {
  const uses = [];
  const S = K.Syntax;
  K.Syntax.SyntaxElement.WalkElements(root, (e) => {
    const at = e.TextStart;
    if (e instanceof S.UnionOperator) uses.push({ kind: "operator", name: "union", start: at });
    else if (e instanceof S.SearchOperator) uses.push({ kind: "operator", name: "search", start: at });
    else if (e instanceof S.TakeOperator) uses.push({ kind: "operator", name: "take", start: at });
    else if (e instanceof S.EvaluateOperator) {
      const fn = e.FunctionCall;
      const name = fn && fn.Name ? String(fn.Name.SimpleName) : "";
      if (PLUGINS.has(name)) uses.push({ kind: "plugin", name, start: at });
    } else if (e instanceof S.NameDeclaration || e instanceof S.NameReference) {
      const name = String(e.SimpleName || "");
      if (name === "AggregatedValue") uses.push({ kind: "name", name, start: at });
    }
    if (e instanceof S.FunctionCallExpression) {
      const name = e.Name ? String(e.Name.SimpleName) : "";
      if (FUNCTIONS.has(name)) {
        const args = e.ArgumentList.Expressions;
        let literal = true;
        for (let i = 0; i < args.Count; i++) {
          if (!(args.getItem(i).Element$1 instanceof S.LiteralExpression)) literal = false;
        }
        uses.push({ kind: "function", name, start: at, literalArguments: literal });
      }
    }
  });
  return uses;
}

function resultColumns(code) {
  const type = code.ResultType;
  if (!type || !type.Columns) return null;
  const columns = [];
  for (let i = 0; i < type.Columns.Count; i++) {
    const c = type.Columns.getItem(i);
    columns.push([String(c.Name), String(c.Type.Name)]);
  }
  return columns;
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
    return { id: q.id, diagnostics, columns: resultColumns(code), syntax: syntaxUses(K, code.Syntax) };
  });
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(1);
});
