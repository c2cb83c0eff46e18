import path from 'node:path';
import ts from 'typescript';

/** A type of the package that its public API reaches but its entry does not export. */
export interface UnexportedType {
  name: string;
  /** The declaration file, relative to the entry's folder. */
  file: string;
  /** How it is reached, e.g. `Project.listResults`. */
  via: string;
}

/**
 * The types declared in the package (the folder of `entry`, a `.d.ts`) that the entry's exports
 * reach — through their members' types, parameters and results, type arguments, and the members of
 * the types so reached — but that the entry does not export, so that a user cannot name them.
 * Private and protected members do not count; members marked `@internal` are gone from the
 * declarations already (`stripInternal`).
 */
export function unexportedTypes(entry: string): UnexportedType[] {
  const root = path.dirname(entry);
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const entryModule = source && checker.getSymbolAtLocation(source);
  if (!entryModule) throw new Error(`${entry} is not a module`);

  const real = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const exported = new Set<ts.Symbol>();
  const collect = (module: ts.Symbol): void => {
    for (const e of checker.getExportsOfModule(module)) {
      const r = real(e);
      exported.add(r);
      if (r.flags & ts.SymbolFlags.ValueModule) collect(r); // `export * as stats`
    }
  };
  collect(entryModule);

  const inPackage = (s: ts.Symbol | undefined): boolean => s?.declarations?.some((d) => d.getSourceFile().fileName.startsWith(root + path.sep)) ?? false;
  const anonymous = ts.SymbolFlags.TypeLiteral | ts.SymbolFlags.ObjectLiteral;
  const hidden = (s: ts.Symbol): boolean => s.name.startsWith('#') || (s.declarations ?? []).some((d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
  const missing = new Map<ts.Symbol, string>();
  const seenTypes = new Set<ts.Type>();
  const seenSymbols = new Set<ts.Symbol>(exported);

  const visitSignature = (sig: ts.Signature, via: string): void => {
    for (const p of sig.getParameters()) visitType(checker.getTypeOfSymbol(p), via);
    for (const tp of sig.getTypeParameters() ?? []) {
      const c = tp.getConstraint();
      if (c) visitType(c, via);
    }
    visitType(sig.getReturnType(), via);
  };
  const visitMembers = (t: ts.Type, via: string): void => {
    for (const p of checker.getPropertiesOfType(t)) if (!hidden(p)) visitType(checker.getTypeOfSymbol(p), `${via}.${p.name}`);
    for (const s of t.getCallSignatures()) visitSignature(s, via);
    for (const s of t.getConstructSignatures()) visitSignature(s, via);
    for (const i of checker.getIndexInfosOfType(t)) visitType(i.type, via);
  };
  const visitSymbol = (s: ts.Symbol): void => {
    if (s.flags & ts.SymbolFlags.Class) {
      visitType(checker.getDeclaredTypeOfSymbol(s), s.name);
      visitMembers(checker.getTypeOfSymbol(s), s.name); // statics and the constructor
    } else if (s.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      const t = checker.getDeclaredTypeOfSymbol(s);
      visitType(t, s.name);
      visitMembers(t, s.name);
    } else if (!(s.flags & ts.SymbolFlags.Enum)) {
      visitType(checker.getTypeOfSymbol(s), s.name);
    }
  };
  const reached = (s: ts.Symbol, via: string): void => {
    const r = real(s);
    if (!inPackage(r)) return;
    if (!exported.has(r) && !missing.has(r)) missing.set(r, via);
    if (seenSymbols.has(r)) return;
    seenSymbols.add(r);
    visitSymbol(r);
  };
  function visitType(t: ts.Type, via: string): void {
    if (seenTypes.has(t)) return;
    seenTypes.add(t);
    if (t.aliasSymbol) {
      reached(t.aliasSymbol, via);
      for (const a of t.aliasTypeArguments ?? []) visitType(a, via);
    }
    if (t.isUnionOrIntersection()) {
      for (const u of t.types) visitType(u, via);
      return;
    }
    if (!(t.flags & ts.TypeFlags.Object)) return;
    const o = t as ts.ObjectType;
    if (o.objectFlags & ts.ObjectFlags.Reference) for (const a of checker.getTypeArguments(o as ts.TypeReference)) visitType(a, via);
    const s = t.getSymbol();
    if (s && inPackage(s) && !(s.flags & (anonymous | ts.SymbolFlags.Function | ts.SymbolFlags.Method))) reached(s, via);
    // The members of the package's own types and of anonymous ones (an options literal); a library's (Promise, Map) only through its type arguments.
    if (!s || inPackage(s) || s.flags & anonymous) visitMembers(t, via);
  }

  for (const s of exported) visitSymbol(s);
  return [...missing].map(([s, via]) => ({ name: s.name, file: path.relative(root, s.declarations?.[0]?.getSourceFile().fileName ?? ''), via }));
}
