/**
 * Best-effort source positions for HCL definitions. hcl2json returns plain
 * JSON without positions, so to point at the offending line we re-scan the
 * text with a tiny lexer that knows just enough HCL (strings, templates,
 * heredocs, comments, brackets) to find block headers, attribute names and
 * list elements. It never decides validity: hcl2json already did.
 */

import { lexHcl, skipHclExpression, type HclToken } from '../../hcl/lex.js';
import { positionFinder } from './located.js';
import type { Position } from './types.js';

export interface AttributeSite {
  pos: Position;
  /** The first token of the value. */
  valuePos: Position;
  /** The first token of each element when the value is a `[...]` list. */
  elements: Position[];
}

export interface BlockSite {
  type: string;
  labels: string[];
  pos: Position;
  labelPos?: Position;
  /** Attributes and nested blocks by name (first occurrence). */
  attributes: Map<string, AttributeSite>;
}

export interface HclSites {
  blocks: BlockSite[];
  /** Top-level attribute and block names → first position. */
  topLevel: Map<string, Position>;
}

type Token = HclToken;

const OPENERS = '([{';
const CLOSERS = ')]}';

export function scanHcl(text: string): HclSites {
  const tokens = lexHcl(text, decode);
  const toPos = positionFinder(text);
  const sites: HclSites = { blocks: [], topLevel: new Map() };
  let k = 0;
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.kind !== 'ident') {
      k++;
      continue;
    }
    if (!sites.topLevel.has(t.text)) sites.topLevel.set(t.text, toPos(t.at));
    if (tokens[k + 1]?.text === '=') {
      k = skipHclExpression(tokens, k + 2);
      continue;
    }
    let j = k + 1;
    const labels: Token[] = [];
    while (tokens[j]?.kind === 'string' || tokens[j]?.kind === 'ident') labels.push(tokens[j++]!);
    if (tokens[j]?.text !== '{') {
      k = j;
      continue;
    }
    const block: BlockSite = {
      type: t.text,
      labels: labels.map((l) => l.text),
      pos: toPos(t.at),
      attributes: new Map(),
    };
    if (labels[0]) block.labelPos = toPos(labels[0].at);
    sites.blocks.push(block);
    k = scanBody(tokens, j + 1, block, toPos);
  }
  return sites;
}

/** Records a block body's attributes; returns the index just past its closing brace. */
function scanBody(tokens: Token[], k: number, block: BlockSite, toPos: (at: number) => Position): number {
  while (k < tokens.length) {
    const t = tokens[k]!;
    if (t.text === '}' && t.kind === 'punct') return k + 1;
    if (t.kind !== 'ident') {
      k++;
      continue;
    }
    if (tokens[k + 1]?.text === '=') {
      const value = tokens[k + 2];
      const site: AttributeSite = { pos: toPos(t.at), valuePos: toPos(value?.at ?? t.at), elements: [] };
      if (value?.text === '[') site.elements = listElements(tokens, k + 2).map(toPos);
      if (!block.attributes.has(t.text)) block.attributes.set(t.text, site);
      k = skipHclExpression(tokens, k + 2);
      continue;
    }
    // A nested block: remember where its name is, skip its body.
    const pos = toPos(t.at);
    if (!block.attributes.has(t.text)) block.attributes.set(t.text, { pos, valuePos: pos, elements: [] });
    k = skipNested(tokens, k + 1);
  }
  return k;
}

/** Offsets of the first token of each element of the list opening at `open`. */
function listElements(tokens: Token[], open: number): number[] {
  const starts: number[] = [];
  let depth = 0;
  let expecting = false;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.kind === 'nl') continue;
    const isCloser = t.kind === 'punct' && CLOSERS.includes(t.text);
    if (depth === 1 && expecting && !isCloser) {
      starts.push(t.at);
      expecting = false;
    }
    if (t.kind !== 'punct') continue;
    if (OPENERS.includes(t.text)) expecting = ++depth === 1 || expecting;
    else if (isCloser && --depth === 0) break;
    else if (t.text === ',' && depth === 1) expecting = true;
  }
  return starts;
}


/** Index just past the body of a nested block whose labels start at `k`. */
function skipNested(tokens: Token[], k: number): number {
  while (k < tokens.length && tokens[k]!.text !== '{' && tokens[k]!.kind !== 'nl') k++;
  if (tokens[k]?.text !== '{') return k;
  let depth = 0;
  for (; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== 'punct') continue;
    if (OPENERS.includes(t.text)) depth++;
    else if (CLOSERS.includes(t.text) && --depth === 0) return k + 1;
  }
  return k;
}


/** A quoted string's value, for matching block labels with hcl2json's keys. */
function decode(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

