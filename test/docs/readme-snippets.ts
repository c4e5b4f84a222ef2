/**
 * Reads the TypeScript snippets out of a Markdown file and type-checks them against the library's
 * source, so a README example that stops compiling fails the build.
 *
 * A snippet that is a fragment gets the names it uses from an HTML comment right above its fence,
 * invisible on the rendered page:
 *
 *     <!-- snippet-context
 *     import { AuditService } from 'nestjs-audit';
 *     declare const audit: AuditService;
 *     async function example() {
 *     @@
 *     }
 *     -->
 *
 * `@@` marks where the snippet goes (after the context when absent; the snippet's own one-line
 * imports then move to the top of the file). A relative import of the
 * reader's own files (`./users.service`) cannot be resolved and is allowed to stay unresolved.
 */
import * as path from 'node:path';
import * as ts from 'typescript';

/** One ```ts block of the Markdown file, with what it needs around it to compile. */
export interface Snippet {
  /** 1-based line of the snippet's first code line in the Markdown file. */
  readonly line: number;
  readonly code: string;
  readonly context?: string;
}

/** A compiler error inside a snippet, located in the Markdown file. */
export interface SnippetError {
  readonly line: number;
  readonly message: string;
}

const CONTEXT_START = '<!-- snippet-context';
const CONTEXT_END = '-->';
const PLACEHOLDER = '@@';
const CANNOT_FIND_MODULE = 2307;

/** Every ```ts / ```typescript block of `markdown`, in order. */
export function readSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  let context: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith(CONTEXT_START)) {
      const end = lines.indexOf(CONTEXT_END, i + 1);
      if (end < 0) throw new Error(`line ${i + 1}: snippet-context without a closing "-->"`);
      context = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (/^```(ts|typescript)\s*$/.test(line)) {
      const end = lines.indexOf('```', i + 1);
      if (end < 0) throw new Error(`line ${i + 1}: code fence without its end`);
      snippets.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n'), context });
      context = undefined;
      i = end;
    } else if (line.trim() !== '') {
      context = undefined;
    }
  }
  return snippets;
}

interface Placed {
  readonly text: string;
  /** Line of the file on which the snippet's first line sits (0-based). */
  readonly offset: number;
}

function place(snippet: Snippet): Placed {
  const context = snippet.context ?? '';
  const at = context.indexOf(PLACEHOLDER);
  if (at < 0) {
    return {
      text: `${context}\n${snippet.code}\nexport {};\n`,
      offset: context.split('\n').length,
    };
  }
  // Placed inside a wrapper (a function, for top-level await), the snippet's own one-line imports
  // move to the top of the file; blank lines keep the other lines where they were.
  const lines = snippet.code.split('\n');
  const imports = lines.filter((line) => /^import .*;$/.test(line));
  const code = lines.map((line) => (/^import .*;$/.test(line) ? '' : line)).join('\n');
  const before = `${imports.join('\n')}\n${context.slice(0, at)}`;
  const after = context.slice(at + PLACEHOLDER.length);
  return { text: `${before}${code}${after}\nexport {};\n`, offset: before.split('\n').length - 1 };
}

function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = path.join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (file) => ts.sys.readFile(file));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  return {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    baseUrl: root,
    paths: { 'nestjs-audit': ['src/index.ts'], 'nestjs-audit/*': ['src/*'] },
  };
}

function isOwnFileImport(diagnostic: ts.Diagnostic): boolean {
  if (diagnostic.code !== CANNOT_FIND_MODULE) return false;
  const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
  return /module '\.\.?\//.test(text);
}

/**
 * Type-checks `snippets` as modules of the project at `root` (its tsconfig, `nestjs-audit` mapped
 * to `src/`) and returns the errors, each at its line of the Markdown file.
 */
export function checkSnippets(root: string, snippets: readonly Snippet[]): SnippetError[] {
  const options = compilerOptions(root);
  const files = new Map<string, { snippet: Snippet; placed: Placed }>();
  snippets.forEach((snippet, index) => {
    const file = path.join(root, 'test', 'docs', `__readme_snippet_${index}.ts`);
    files.set(file, { snippet, placed: place(snippet) });
  });
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (file) => files.has(file) || ts.sys.fileExists(file);
  host.readFile = (file) => files.get(file)?.placed.text ?? readFile(file);
  host.getSourceFile = (file, language, ...rest) => {
    const own = files.get(file);
    if (own) return ts.createSourceFile(file, own.placed.text, language, true);
    return getSourceFile(file, language, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const errors: SnippetError[] = [];
  for (const [file, { snippet, placed }] of files) {
    const source = program.getSourceFile(file) as ts.SourceFile;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ];
    for (const diagnostic of diagnostics) {
      if (isOwnFileImport(diagnostic)) continue;
      const at = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      const inSnippet = at - placed.offset;
      const inCode = inSnippet >= 0 && inSnippet < snippet.code.split('\n').length;
      errors.push({
        line: inCode ? snippet.line + inSnippet : snippet.line,
        message: `${inCode ? '' : '(in its snippet-context) '}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`,
      });
    }
  }
  return errors;
}
