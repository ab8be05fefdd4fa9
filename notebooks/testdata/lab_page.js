// lab_page.js: what TestLabTour (notebooks/lab_test.go) asks a JupyterLab 4
// page (the application of testdata/lab). The test installs it in the page
// before JupyterLab's own scripts run, as window.atonceProbe, and calls its
// functions through the DevTools protocol (chromedp). It reads JupyterLab's
// own objects (window.jupyterapp, which JupyterLab sets when the page config
// says exposeAppInBrowser) and the DOM; it runs no JupyterLab command and
// changes nothing but where the notebook is scrolled: the test clicks and
// types. Each function returns a plain object; the waits
// return {done: true} when their state holds, or {fail: "..."} when it never
// will (a dialog, a dead kernel).
window.atonceProbe = {
	// path is the notebook the test opened (set by open()).
	path: '',

	open(path) {
		this.path = path;
		return {};
	},

	// panel: the notebook's panel in JupyterLab's main area.
	panel() {
		const app = window.jupyterapp;
		if (!app || !app.shell) return null;
		for (const w of Array.from(app.shell.widgets('main'))) {
			if (w.context && w.context.path === this.path && w.content && w.sessionContext) return w;
		}
		return null;
	},

	// dialogs: the text of every JupyterLab dialog shown.
	dialogs() {
		return [...document.querySelectorAll('.jp-Dialog')]
			.map((d) => d.innerText.trim().replace(/\s+/g, ' ').slice(0, 500));
	},

	// kernel: the notebook's kernel status as JupyterLab shows it.
	kernel() {
		const p = this.panel();
		const sc = p && p.sessionContext;
		const k = sc && sc.session && sc.session.kernel;
		const status = sc ? sc.kernelDisplayStatus : '';
		const dialogs = this.dialogs();
		let fail = '';
		const startError = document.body.getAttribute('data-atonce-lab-error');
		if (startError) fail = 'JupyterLab did not start: ' + startError;
		else if (status === 'dead') fail = 'kernel dead';
		return { status, idle: status === 'idle', name: k ? k.name : '', displayName: sc ? sc.kernelDisplayName : '', dialogs, fail };
	},

	// cells: the notebook's cells (JupyterLab's Cell widgets).
	cells() {
		const p = this.panel();
		return p ? p.content.widgets : [];
	},

	// ready: JupyterLab has started and restored, the notebook is open with
	// all its cells, and its kernel started and idle. No dialog is shown.
	ready() {
		const app = window.jupyterapp;
		const p = this.panel();
		const k = this.kernel();
		const cellsShown = p ? p.content.widgets.length : 0;
		const cellsInModel = p && p.content.model ? p.content.model.cells.length : -1;
		let fail = k.fail;
		if (!fail && k.dialogs.length) fail = 'dialog shown: ' + k.dialogs.join(' | ');
		const done = !!(app && p && p.context.isReady && p.sessionContext.isReady && cellsShown === cellsInModel && k.idle);
		return { done, fail, started: !!app, panel: !!p, cellsShown, cellsInModel, kernelStatus: k.status, kernelName: k.name, kernelDisplayName: k.displayName };
	},

	// languageInfo: the kernel's kernel_info language_info and the notebook's
	// metadata.language_info as JupyterLab keeps them, and the editor's MIME
	// type of each code cell.
	async languageInfo() {
		const p = this.panel();
		const kernel = p.sessionContext.session.kernel;
		const info = await kernel.info;
		const meta = p.content.model.getMetadata('language_info') || {};
		const mimeTypes = [...new Set(p.content.widgets.filter((c) => c.model.type === 'code').map((c) => c.model.mimeType))];
		return { kernel: info.language_info, metadata: meta, mimeTypes };
	},

	// highlight: how the editor of the first code cell colours its tokens:
	// for each wanted token, the colour of the span that holds exactly that
	// text, and the colour JupyterLab's theme gives its token kind.
	highlight(tokens) {
		const cell = this.cells().find((c) => c.model.type === 'code');
		const content = cell && cell.node.querySelector('.cm-content');
		if (!content) return { done: false };
		cell.node.scrollIntoView({ block: 'center' });
		const colour = (value) => {
			const probe = document.createElement('span');
			probe.style.color = value;
			document.body.appendChild(probe);
			const c = getComputedStyle(probe).color;
			probe.remove();
			return c;
		};
		const rootStyle = getComputedStyle(document.body);
		const out = [];
		for (const { text, kind } of tokens) {
			const span = [...content.querySelectorAll('span')].find((s) => s.textContent === text && s.children.length === 0);
			const themeVar = kind ? '--jp-mirror-editor-' + kind + '-color' : '';
			out.push({
				text, kind,
				found: !!span,
				colour: span ? getComputedStyle(span).color : getComputedStyle(content).color,
				themeColour: kind ? colour(rootStyle.getPropertyValue(themeVar).trim()) : '',
			});
		}
		return { done: true, plainColour: getComputedStyle(content).color, tokens: out };
	},

	// cleared: no code cell shows an execution count or an output.
	cleared() {
		const code = this.cells().filter((c) => c.model.type === 'code');
		const numbered = code.filter((c) => c.model.executionCount !== null).length;
		const outputs = code.reduce((n, c) => n + c.model.outputs.length, 0);
		return { done: numbered === 0 && outputs === 0, numbered, outputs };
	},

	// recordReplies records the status of every execute reply and every
	// kernel status the kernel reports, from now on; JupyterLab shows an
	// aborted cell much like one that did not run.
	recordReplies() {
		const kernel = this.panel().sessionContext.session.kernel;
		window.atonceReplies = {};
		window.atonceStatuses = [];
		if (!window.atonceHooked) {
			window.atonceHooked = true;
			kernel.anyMessage.connect((_, args) => {
				const m = args.msg;
				if (args.direction !== 'recv' || !m || !m.header) return;
				if (m.header.msg_type === 'execute_reply') {
					const c = m.content || {};
					window.atonceReplies[m.parent_header.msg_id] =
						c.status === 'error' && /abort/i.test(c.ename || '') ? 'aborted' : c.status;
				}
			});
			kernel.statusChanged.connect((_, status) => window.atonceStatuses.push(status));
		}
		return {};
	},

	// replies counts the execute replies recorded, by status.
	replies() {
		const counts = {};
		for (const s of Object.values(window.atonceReplies || {})) counts[s] = (counts[s] || 0) + 1;
		return counts;
	},

	// finished: every non-empty code cell has run (its execution count is
	// set and it is no longer running), as many execute replies arrived, and
	// the kernel is idle. A cell left without a count after an error earlier
	// in the run was aborted: reported as not run, once the rest is done.
	finished() {
		const k = this.kernel();
		let codeCells = 0, ran = 0, empty = 0, running = 0;
		const notRun = [];
		this.cells().forEach((c, i) => {
			if (c.model.type !== 'code') return;
			codeCells++;
			if (c.model.sharedModel.getSource().trim() === '') { empty++; return; }
			if (c.model.executionState === 'running') { running++; return; }
			if (c.model.executionCount !== null) ran++; else notRun.push(i);
		});
		const statuses = this.replies();
		const replied = Object.values(statuses).reduce((a, b) => a + b, 0);
		const done = running === 0 && replied >= codeCells - empty && k.idle;
		return { done, fail: k.fail, codeCells, ran, empty, running, notRun, statuses, replied, kernelStatus: k.status };
	},

	// shown: what the page shows in the code cells' outputs: the images the
	// browser laid out (each output is scrolled into view first, since
	// JupyterLab leaves cells out of view unrendered), the task-stream charts
	// among them, errors and stderr.
	shown() {
		const out = { images: 0, charts: [], errors: [], stderr: [] };
		this.cells().forEach((cell, i) => {
			if (cell.model.type !== 'code') return;
			const models = cell.model.outputs;
			const children = [...cell.node.querySelectorAll('.jp-OutputArea-child')];
			children.forEach((child, j) => {
				const model = j < models.length ? models.get(j) : null;
				child.scrollIntoView({ block: 'nearest' });
				const imgs = [];
				for (const el of child.querySelectorAll('.jp-RenderedImage img, .jp-RenderedSVG img, .jp-RenderedSVG svg, img')) {
					if (imgs.some((x) => x.el === el || x.el.contains(el))) continue;
					let kind = el.tagName.toLowerCase() === 'svg' ? 'svg' : 'img';
					if (kind === 'img') {
						const src = el.getAttribute('src') || '';
						if (src.startsWith('data:image/png')) kind = 'png';
						else if (src.startsWith('data:image/svg') || src.startsWith('blob:')) kind = 'svg-img';
						if (!el.complete || el.naturalWidth === 0) continue;
					}
					const r = el.getBoundingClientRect();
					if (r.width < 10 || r.height < 10) continue;
					imgs.push({ el, kind, width: Math.round(r.width), height: Math.round(r.height),
						mime: (el.closest('[data-mime-type]') || { dataset: {} }).dataset.mimeType || '' });
				}
				out.images += imgs.length;
				const plain = model && model.data ? [].concat(model.data['text/plain'] || []).join('') : '';
				if (plain.startsWith('Task stream:') && imgs.length > 0) {
					const { el, ...info } = imgs[0];
					out.charts.push({ cell: i, output: j, ...info, summary: plain.split('\n')[0].slice(0, 200) });
				}
				const text = (el) => el.innerText.trim().slice(0, 2000);
				for (const el of child.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')) {
					const t = text(el);
					out.stderr.push({ cell: i, text: t });
					if (/\b(error|panic|fatal)\b/i.test(t)) out.errors.push({ cell: i, kind: 'stderr', text: t });
				}
				if (model && model.type === 'error') {
					out.errors.push({ cell: i, kind: 'error', text: text(child) || JSON.stringify(model.toJSON()).slice(0, 2000) });
				}
			});
		});
		return out;
	},

	// active: the active cell: its index, its text, whether its editor has
	// the focus (edit mode), and the notebook's mode.
	active() {
		const p = this.panel();
		const nb = p.content;
		const c = nb.activeCell;
		return {
			index: nb.activeCellIndex,
			count: nb.widgets.length,
			mode: nb.mode,
			text: c ? c.model.sharedModel.getSource() : '',
			focused: !!(c && c.editor && c.editor.hasFocus()),
		};
	},

	// editing: the cell at index is active, in edit mode with its editor
	// focused, and holds text.
	editing(index, text) {
		const a = this.active();
		return { done: a.index === index && a.mode === 'edit' && a.focused && a.text === text, ...a };
	},

	// cellRun: the cell at index has run since it showed count before
	// (its execution count changed and it is no longer running), and the
	// kernel is idle; with its outputs' text and types.
	cellRun(index, before) {
		const k = this.kernel();
		const c = this.cells()[index];
		if (!c) return { done: false, fail: 'no cell ' + index };
		const count = c.model.executionCount;
		const outputs = [];
		for (let j = 0; j < c.model.outputs.length; j++) {
			const o = c.model.outputs.get(j).toJSON();
			let text = '';
			if (o.output_type === 'stream') text = [].concat(o.text).join('');
			else if (o.output_type === 'error') text = o.ename + ': ' + o.evalue;
			else if (o.data) text = [].concat(o.data['text/plain'] || []).join('');
			outputs.push({ type: o.output_type, name: o.name || '', text: text.slice(0, 2000) });
		}
		const state = c.model.executionState;
		const done = state !== 'running' && count !== null && count !== before && k.idle;
		return { done, fail: k.fail, count, state, outputs, kernelStatus: k.status };
	},

	// running: the cell at index is running and the kernel busy.
	running(index) {
		const k = this.kernel();
		const c = this.cells()[index];
		const state = c ? c.model.executionState : '';
		return { done: state === 'running' && k.status === 'busy', fail: k.fail, state, kernelStatus: k.status };
	},

	// shownPopup: the first element sel matches that is shown (not hidden,
	// laid out); JupyterLab's pop-ups are fixed-position boxes in the body.
	shownPopup(sel) {
		return [...document.querySelectorAll(sel)].find((e) => {
			const r = e.getBoundingClientRect();
			return !e.classList.contains('lm-mod-hidden') && r.width > 0 && r.height > 0;
		});
	},

	// completer: the completer's list as shown: its items' text.
	completer() {
		const w = this.shownPopup('.jp-Completer');
		const items = w ? [...w.querySelectorAll('.jp-Completer-item')].map((li) => (li.querySelector('.jp-Completer-match') || li).innerText.trim()) : [];
		return { done: items.length > 0, items: items.slice(0, 50), shown: !!w };
	},

	// tooltip: the tooltip JupyterLab shows (Shift-Tab): its text.
	tooltip() {
		const w = this.shownPopup('.jp-Tooltip');
		const text = w ? w.innerText.trim() : '';
		return { done: text !== '', text: text.slice(0, 2000) };
	},

	// restarted: the kernel went through 'restarting' (or 'autorestarting')
	// since recordReplies, and is idle now.
	restarted() {
		const k = this.kernel();
		const seen = window.atonceStatuses || [];
		const restarted = seen.some((s) => /restarting/.test(s));
		return { done: restarted && k.idle, fail: k.fail, statuses: seen.slice(-20), kernelStatus: k.status };
	},

	// dialog: a JupyterLab dialog whose text contains want is shown.
	dialog(want) {
		const shown = this.dialogs();
		return { done: shown.some((d) => d.includes(want)), shown };
	},

	// noDialog: no JupyterLab dialog is shown.
	noDialog() {
		const shown = this.dialogs();
		return { done: shown.length === 0, shown };
	},

	// target: the first element sel matches (and, with text, whose text is
	// text), scrolled into view, with its centre in the viewport's
	// coordinates, for the mouse to move to and click; done when it is laid
	// out and visible.
	target(sel, text) {
		const el = [...document.querySelectorAll(sel)].find((e) => text === undefined || e.innerText.trim() === text);
		if (!el) return { done: false, found: false };
		el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
		const r = el.getBoundingClientRect();
		const visible = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
		return { done: visible, found: true, visible, x: r.left + r.width / 2, y: r.top + r.height / 2 };
	},

	// notebookBottom: where the notebook's last cell (and the "add a cell"
	// footer under it) ends, in pixels from the top of the notebook.
	// JupyterLab leaves room to scroll past the end, so the scroll height
	// is not the notebook's.
	notebookBottom(outer) {
		const top = outer.getBoundingClientRect().top - outer.scrollTop;
		const bottoms = [...outer.querySelectorAll('.jp-Cell, .jp-Notebook-footer')].map((e) => e.getBoundingClientRect().bottom);
		return Math.ceil(Math.max(0, ...bottoms) - top);
	},

	// height: how tall the window must be to show the whole notebook:
	// JupyterLab scrolls the notebook inside its panel, not the document.
	// The notebook is scrolled to its top, as the screenshot shows it.
	height() {
		const outer = this.panel().content.outerNode;
		outer.scrollTop = 0;
		return {
			header: window.innerHeight - outer.clientHeight,
			content: this.notebookBottom(outer),
		};
	},

	// fitted: the notebook shows whole without scrolling; or its height is
	// no longer content (cells laid out for the first time changed it), so
	// the window must be sized again.
	fitted(content) {
		const outer = this.panel().content.outerNode;
		const bottom = this.notebookBottom(outer);
		const fits = outer.scrollTop === 0 && outer.clientHeight >= bottom;
		return { done: fits || bottom !== content, fits, client: outer.clientHeight, bottom };
	},

	// --- the debugger (TestLabDebugger, notebooks/labdebug_test.go) ---

	// shownEl: el is laid out and not hidden.
	shownEl(el) {
		if (!el) return false;
		const r = el.getBoundingClientRect();
		return r.width > 0 && r.height > 0 && !el.closest('.lm-mod-hidden') && getComputedStyle(el).visibility !== 'hidden';
	},

	// watchDebug records the debug messages between JupyterLab and the
	// kernel from now on (debugLog: the request's command, the reply's
	// success, the event's name), and which requests are not yet
	// answered.
	watchDebug() {
		const kernel = this.panel().sessionContext.session.kernel;
		window.atonceDebugLog = [];
		window.atonceDebug = { pending: new Set(), pressedSeen: false };
		kernel.anyMessage.connect((_, args) => {
			const m = args.msg;
			const type = m && m.header && m.header.msg_type;
			if (!type || !type.startsWith('debug_')) return;
			const c = m.content || {};
			const what = c.command || c.event || '';
			const ok = type === 'debug_reply' ? (c.success ? ' ok' : ' failed: ' + (c.message || '')) : '';
			this.debugNote(`${args.direction} ${type} ${what}${ok}`);
			// By id: a reply to a request sent before the watch began is
			// not counted.
			if (type === 'debug_request') window.atonceDebug.pending.add(m.header.msg_id);
			if (type === 'debug_reply') window.atonceDebug.pending.delete(m.parent_header.msg_id);
		});
		return {};
	},

	debugNote(text) {
		window.atonceDebugLog.push(`${Math.round(performance.now())} ${text}`);
	},

	// debugLog: the last debug messages watchDebug recorded.
	debugLog() {
		return (window.atonceDebugLog || []).slice(-40);
	},

	// markClick notes that the test clicks the bug button now.
	markClick() {
		window.atonceDebug.pressedSeen = false;
		this.debugNote('the test clicks the bug button');
		return {};
	},

	// bugButton: the notebook toolbar's bug button; its presses are
	// recorded from the first call on.
	bugButton() {
		const p = this.panel();
		const button = p && p.node.querySelector('.jp-NotebookPanel-toolbar .jp-DebuggerBugButton');
		if (button && !button.atonceWatched) {
			button.atonceWatched = true;
			new MutationObserver(() => {
				const pressed = button.getAttribute('aria-pressed') === 'true';
				if (pressed && window.atonceDebug) window.atonceDebug.pressedSeen = true;
				this.debugNote(`bug button pressed=${pressed} disabled=${button.getAttribute('aria-disabled')}`);
			}).observe(button, { attributes: true, attributeFilter: ['aria-disabled', 'aria-pressed'] });
		}
		return button;
	},

	// debuggerOn: the debugger runs for the notebook: the toolbar's bug
	// button is pressed, the debugger sidebar is shown with the session's
	// name in its header ('-' when none is started), and the cell at index
	// has the breakpoint gutter. With enabledOnly, done when the button can
	// be clicked: the kernel said it has a debugger, and the notebook is
	// JupyterLab's current widget (the button keeps the focus where it is,
	// and JupyterLab ignores it for a notebook that is not current).
	//
	// dropped: JupyterLab let the click go. Its debugger handler updates
	// a notebook in steps (the kernelspec, debugInfo requests, a new
	// connection for the session), on opening it and again when its kernel
	// connects; a click while one is under way starts the debugger, and
	// the update then resets the session: the button shows it off, or on
	// with no session started. Seen as: the button was pressed since the
	// click, every debug request is answered, the debugger does not run,
	// and so it was at the last look too, with no message since.
	debuggerOn(index, enabledOnly) {
		const p = this.panel();
		const button = this.bugButton();
		const enabled = !!button && button.getAttribute('aria-disabled') !== 'true';
		const pressed = !!button && button.getAttribute('aria-pressed') === 'true';
		const bar = document.querySelector('.jp-DebuggerSidebar');
		const sidebar = this.shownEl(bar);
		const h = bar && bar.querySelector('h2');
		const header = h ? h.textContent.trim() : '';
		const c = this.cells()[index];
		const gutter = !!(c && c.node.querySelector('.cm-gutter.cm-breakpoint-gutter'));
		const app = window.jupyterapp;
		const current = !!(app && p && app.shell.currentWidget === p);
		const running = pressed && header !== '' && header !== '-';
		const on = enabled && running && sidebar && gutter;
		const st = window.atonceDebug || {};
		// Twice in a row, with no message between: JupyterLab answers each
		// debug reply's continuation with its next request at once, but
		// not always in the same task.
		const n = (window.atonceDebugLog || []).length;
		const settled = !enabledOnly && !running && !!st.pressedSeen && st.pending.size === 0;
		const dropped = settled && st.settledAt === n;
		st.settledAt = settled ? n : -1;
		const done = enabledOnly ? enabled && current : on || dropped;
		return { done, fail: this.kernel().fail, button: !!button, enabled, current, pressed, sidebar, header, gutter, dropped, messages: this.debugLog() };
	},

	// editorLines: the rectangles of the lines of the cell at index's editor.
	editorLines(c) {
		return [...c.node.querySelectorAll('.cm-content .cm-line')].map((l) => l.getBoundingClientRect());
	},

	// lineAt: the 1-based line of the editor whose rectangle holds y.
	lineAt(rects, y) {
		const i = rects.findIndex((r) => y >= r.top && y < r.bottom);
		return i < 0 ? 0 : i + 1;
	},

	// gutterAt: where to click in the breakpoint gutter of the cell at index
	// to toggle a breakpoint on line: the gutter's centre across, the line's
	// centre down.
	gutterAt(index, line) {
		const c = this.cells()[index];
		const gutter = c && c.node.querySelector('.cm-gutter.cm-breakpoint-gutter');
		if (!gutter) return { done: false, gutter: false };
		c.node.scrollIntoView({ block: 'nearest' });
		const lines = this.editorLines(c);
		if (line > lines.length) return { done: false, fail: `the cell has ${lines.length} lines, no line ${line}` };
		const g = gutter.getBoundingClientRect(), l = lines[line - 1];
		return { done: g.width > 0 && l.height > 0, x: g.left + g.width / 2, y: l.top + l.height / 2 };
	},

	// debugView: what the debugger shows for the cell at index: the lines
	// its gutter marks with a breakpoint, the line it highlights as the
	// current one, the Breakpoints panel's entries, the Callstack panel's
	// frames, the Variables panel's variables (its tree view: name and the
	// detail shown after it) and the scopes its switcher offers; and the
	// cell's execution state.
	debugView(index) {
		const c = this.cells()[index];
		if (!c) return { fail: 'no cell ' + index };
		const rects = this.editorLines(c);
		const middle = (el) => { const r = el.getBoundingClientRect(); return r.top + r.height / 2; };
		const marked = [...c.node.querySelectorAll('.cm-breakpoint-gutter .cm-gutterElement')]
			.filter((el) => el.querySelector('.cm-breakpoint-icon, .cm-selected-breakpoint-icon'))
			.map((el) => this.lineAt(rects, middle(el)))
			.filter((n) => n > 0); // not the gutter's spacer, which holds a marker too
		const current = [...c.node.querySelectorAll('.cm-content .cm-line')]
			.map((l, i) => (l.classList.contains('jp-DebuggerEditor-highlight') ? i + 1 : 0)).filter((n) => n > 0);
		const text = (el, sel) => { const e = el.querySelector(sel); return e ? e.innerText.trim() : ''; };
		const breakpoints = [...document.querySelectorAll('.jp-DebuggerBreakpoints .jp-DebuggerBreakpoint')]
			.map((b) => ({ source: text(b, '.jp-DebuggerBreakpoint-source'), line: text(b, '.jp-DebuggerBreakpoint-line') }));
		const frames = [...document.querySelectorAll('.jp-DebuggerCallstack .jp-DebuggerCallstackFrame')]
			.map((f) => ({ name: text(f, '.jp-DebuggerCallstackFrame-name'), location: text(f, '.jp-DebuggerCallstackFrame-location'), selected: f.classList.contains('selected') }));
		const tree = [...document.querySelectorAll('.jp-DebuggerVariables .jp-DebuggerVariables-body')].find((b) => this.shownEl(b));
		const variables = tree ? [...tree.querySelectorAll('.jp-DebuggerVariables-name')].map((n) => {
			const d = n.nextElementSibling;
			return { name: n.innerText.trim(), detail: d && d.classList.contains('jp-DebuggerVariables-detail') ? d.innerText.trim() : '' };
		}) : [];
		const select = document.querySelector('.jp-DebuggerVariables-toolbar select');
		const scopes = select ? [...select.options].map((o) => o.textContent.trim()) : [];
		return { fail: this.kernel().fail, marked, current, breakpoints, frames, variables, scopes, state: c.model.executionState, kernelStatus: this.kernel().status };
	},

	// breakpointSet: the cell at index marks line with a breakpoint and the
	// Breakpoints panel lists it (the kernel has answered setBreakpoints).
	breakpointSet(index, line) {
		const v = this.debugView(index);
		const listed = v.breakpoints.some((b) => b.line === String(line) || b.line.endsWith(':' + line));
		return { ...v, done: v.marked.includes(line) && listed };
	},

	// debugStopped: the debugger shows the cell at index stopped: a line
	// highlighted, frames in the Callstack panel, variables in the
	// Variables panel; and, after a step, not the line nor the variables
	// shown before (notLine, notVariables: the earlier view's).
	debugStopped(index, notLine, notVariables) {
		const v = this.debugView(index);
		const moved = v.current[0] !== notLine && JSON.stringify(v.variables) !== JSON.stringify(notVariables);
		return { ...v, done: v.current.length === 1 && v.frames.length > 0 && v.variables.length > 0 && moved };
	},

	// debugResumed: the debugger shows nothing stopped (no frame, no line
	// highlighted) and the cell at index has run.
	debugResumed(index) {
		const v = this.debugView(index);
		const run = this.cellRun(index, null);
		return { ...v, fail: v.fail || run.fail, count: run.count, done: run.done && v.frames.length === 0 && v.current.length === 0 };
	},
};
