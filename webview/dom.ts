/** Creates an element with attributes and children; the panel builds all its DOM with this, never with innerHTML. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes?: Readonly<Record<string, string>>,
  children?: readonly (Node | string)[],
): HTMLElementTagNameMap[K];
export function element(
  tag: string,
  attributes?: Readonly<Record<string, string>>,
  children?: readonly (Node | string)[],
): HTMLElement;
export function element(
  tag: string,
  attributes: Readonly<Record<string, string>> = {},
  children: readonly (Node | string)[] = [],
): HTMLElement {
  const created = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) created.setAttribute(name, value);
  created.append(...children);
  return created;
}

/** Whether a key press belongs to a control (text field, button, media controls) rather than to the panel. */
export function isInsideControl(target: EventTarget | null): boolean {
  return (
    target instanceof Element &&
    target.closest(
      'input, textarea, button, select, audio, video, [contenteditable]:not([contenteditable="false"]), ' +
        'vscode-text-field, vscode-button, vscode-checkbox',
    ) !== null
  );
}
