import { randomBytes } from 'node:crypto';

export interface PanelHtmlSources {
  /** The webview's `cspSource`: the only origin its scripts, styles, fonts and media may come from. */
  readonly cspSource: string;
  readonly scriptUri: string;
  readonly styleUri: string;
}

/**
 * The panel's page. The nonce is new for every render and comes from a cryptographic source, so no injected
 * markup can guess it; nothing remote is allowed (`default-src 'none'`). This file has no `vscode` import so that
 * the browser tests serve exactly the page VS Code shows.
 */
export function panelHtml(sources: PanelHtmlSources): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `img-src ${sources.cspSource}`,
    `media-src ${sources.cspSource}`,
    `font-src ${sources.cspSource}`,
    // The toolkit (FAST) probes `:focus-visible` with a <style> element carrying the nonce of the csp-nonce meta.
    `style-src ${sources.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attribute(sources.styleUri)}">
<title>Transcript</title>
</head>
<body>
<script nonce="${nonce}" src="${attribute(sources.scriptUri)}"></script>
</body>
</html>
`;
}

function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
}
