// Usage: node scripts/shorten-wasm-names.mjs MODULE.wasm GLUE.js
//
// Gives the names that cross between a wasm-bindgen module and its JS glue
// short names ("a" … "Z", "aa", …) in both files: the functions the module
// imports from the glue, and what it exports but `memory`. wasm-bindgen
// names an import `__wbg_<name>_<16 hex digits>` and a closure's entry point
// after its full Rust type (up to 334 characters); the hex digits do not
// compress, and every name is written twice, in the .wasm and in the glue
// (the export names also in the glue's .d.ts files, which are renamed too).
// Imports from snippets (js/glue.js) keep their names, that file's export
// names. The modules imported from (the glue, each snippet) get one-letter
// names too, in the .wasm and as the keys of the glue's imports object.
// The package's JavaScript API is the glue's: apps use no export of the
// module but its `memory`.
//
// The .wasm is read and written with binaryen's JS API (the npm `binaryen`
// package that also provides wasm-opt). Each import is removed and added
// again under its short name with the same internal name, and each export
// likewise, so nothing inside the module changes. Run it on wasm-bindgen's
// output, before wasm-opt. Fails, leaving both files as they were, when the
// glue does not use a name exactly as expected.
import fs from "node:fs";
import path from "node:path";
import binaryen from "binaryen";

const [wasmPath, jsPath] = process.argv.slice(2);
if (!wasmPath || !jsPath) {
  console.error("usage: node scripts/shorten-wasm-names.mjs MODULE.wasm GLUE.js");
  process.exit(2);
}
const ownModule = `./${path.basename(jsPath, ".js")}_bg.js`;

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** The `n`th short name: a … Z, aa … ZZ, … */
function shortName(n) {
  let name = "";
  for (let i = n; ; i = Math.floor(i / letters.length) - 1) {
    name = letters[i % letters.length] + name;
    if (i < letters.length) return name;
  }
}

/** Replaces `name` with `short` in `js` (the glue or one of its
 *  declaration files) where `where` (a RegExp matching just the name) finds
 *  it. Any other match of `all` (a wider RegExp for the name) is an error,
 *  as is a count outside `min`..`max`. */
function renameInGlue(js, name, short, where, all, min, max) {
  if (!/^[\w$]+$/.test(name)) throw new Error(`${wasmPath}: ${name} is not a plain JS identifier`);
  const uses = js.match(where)?.length ?? 0;
  const anywhere = js.match(all)?.length ?? 0;
  if (uses < min || uses > max || anywhere !== uses) {
    throw new Error(`the glue or its types have ${name} ${anywhere} times, ${uses} of them as expected (${min} to ${max})`);
  }
  return js.replace(where, short);
}

// The features are those the module declares (its target_features section).
const module = binaryen.readBinary(fs.readFileSync(wasmPath));
let js = fs.readFileSync(jsPath, "utf8");

// Every function the module imports, from the glue or from a snippet.
const allImports = [];
for (let i = 0; i < module.getNumFunctions(); i++) {
  const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
  if (info.module) allImports.push(info);
}
// Imports from the glue: each is a key of its imports object, `name: function(…)`.
const imports = allImports.filter((info) => info.module === ownModule);
if (imports.length === 0) throw new Error(`${wasmPath} imports nothing from ${ownModule}`);
const importNames = new Map();
for (const { base } of imports) if (!importNames.has(base)) importNames.set(base, shortName(importNames.size));
for (const [name, short] of importNames) {
  const key = new RegExp(`(?<=[\\s{,])${name}(?=\\s*:)`, "g");
  js = renameInGlue(js, name, short, key, new RegExp(`(?<![\\w$])${name}(?![\\w$])`, "g"), 1, 1);
}
// The modules imported from: the glue itself and each snippet, written as a
// key of the glue's imports object (`"./snippets/…/glue.js": import1`; a
// snippet may be listed several times, each time with the same module) and
// once per import in the .wasm. Each gets a one-letter name in both.
const moduleNames = new Map();
for (const { module: from } of allImports) if (!moduleNames.has(from)) moduleNames.set(from, shortName(moduleNames.size));
for (const [name, short] of moduleNames) {
  const key = `"${name}": import`;
  if (!js.includes(key)) throw new Error(`${jsPath} does not list the import module ${name} as expected`);
  js = js.replaceAll(key, `${short}: import`);
}
for (const { name, module: from, base, params, results } of allImports) {
  module.removeFunction(name);
  module.addFunctionImport(name, moduleNames.get(from), from === ownModule ? importNames.get(base) : base, params, results);
}

// Exports: the glue reads them as `wasm.name` (its functions of the same
// names, such as `apiPost`, are not reads). One the glue never reads
// (wasm-bindgen's abort-handler globals) gets a short name all the same.
const addExport = {
  [binaryen.ExternalFunction]: (internal, external) => module.addFunctionExport(internal, external),
  [binaryen.ExternalMemory]: (internal, external) => module.addMemoryExport(internal, external),
  [binaryen.ExternalTable]: (internal, external) => module.addTableExport(internal, external),
  [binaryen.ExternalGlobal]: (internal, external) => module.addGlobalExport(internal, external),
};
// `memory` keeps its name: apps read `(await init()).memory` (its size, for
// one), as wasm-bindgen's documentation shows.
const kept = new Set(["memory"]);
const exports = [];
for (let i = 0; i < module.getNumExports(); i++) {
  const info = binaryen.getExportInfo(module.getExportByIndex(i));
  if (!kept.has(info.name)) exports.push(info);
}
// The glue's type declarations list the exports too, as the fields of
// `InitOutput` (what init() resolves with) and as the consts of the
// module's own declaration file: each names an export once, or not at all.
const declarations = [
  { file: jsPath.replace(/\.js$/, ".d.ts"), before: "readonly " },
  { file: jsPath.replace(/\.js$/, "_bg.wasm.d.ts"), before: "export const " },
].filter(({ file }) => fs.existsSync(file)).map((d) => ({ ...d, text: fs.readFileSync(d.file, "utf8") }));
exports.forEach((info, i) => {
  if (!addExport[info.kind]) throw new Error(`${wasmPath} exports ${info.name} of a kind this script does not rename`);
  info.short = shortName(i);
  // Any field or const of this name (`export function apiPost(` is the API's).
  const field = new RegExp(`(?<![\\w$])${info.name}(?=\\??:)`, "g");
  // Read as a property of anything but `wasm` would be a use this misses.
  const read = new RegExp(`(?<=\\bwasm\\.)${info.name}(?![\\w$])`, "g");
  js = renameInGlue(js, info.name, info.short, read, new RegExp(`(?<=\\.)${info.name}(?![\\w$])`, "g"), 0, Infinity);
  for (const d of declarations) {
    const declared = new RegExp(`(?<=^\\s*${d.before})${info.name}(?=:)`, "gm");
    d.text = renameInGlue(d.text, info.name, info.short, declared, field, 0, 1);
  }
  // The glue calls a closure's entry point through a module-private
  // function of the export's (long) name: that function is renamed too.
  // A function the glue exports (`export function apiPost(`) is the API's.
  if (new RegExp(`(?<!export )function ${info.name}\\(`).test(js)) {
    const local = `invoke_${info.short}`;
    if (new RegExp(`\\b${local}\\b`).test(js)) throw new Error(`${jsPath} already has a ${local}`);
    js = js.replace(new RegExp(`(?<![\\w$.])${info.name}(?![\\w$])`, "g"), local);
  }
});
for (const { name, value, kind, short } of exports) {
  module.removeExport(name);
  addExport[kind](value, short);
}

if (!module.validate()) throw new Error(`${wasmPath} does not validate after renaming`);
const bytes = module.emitBinary();
module.dispose();
fs.writeFileSync(wasmPath, bytes);
fs.writeFileSync(jsPath, js);
for (const { file, text } of declarations) fs.writeFileSync(file, text);
console.log(`shorten-wasm-names: ${importNames.size} imports from ${ownModule} and ${exports.length} exports renamed`);
