import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import BarChart from '../../../../server/src/ui/src/components/BarChart.vue';
import CodeEditor from '../../../../server/src/ui/src/components/CodeEditor.vue';
import DataTable from '../../../../server/src/ui/src/components/DataTable.vue';
import Pager from '../../../../server/src/ui/src/components/Pager.vue';
import StatusBadge from '../../../../server/src/ui/src/components/StatusBadge.vue';

describe('shared components', () => {
  it('DataTable pages by the limit and disables what is not there', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ id: i + 26, name: `p${i + 26}` }));
    const table = mount(DataTable, {
      props: { caption: 'Providers', columns: [{ key: 'name', label: 'Name' }], rows, rowKey: (r: object) => (r as { id: number }).id, total: 60, limit: 25, offset: 25 },
    });
    expect(table.text()).toContain('26–50 of 60');
    const [prev, next] = table.findAll('nav button');
    await prev!.trigger('click');
    await next!.trigger('click');
    expect(table.emitted('page')).toEqual([[0], [50]]);
    await table.setProps({ offset: 50, rows: rows.slice(0, 10) });
    expect(table.text()).toContain('51–60 of 60');
    expect(table.findAll('nav button')[1]!.attributes('disabled')).toBeDefined();
  });

  it('CodeEditor numbers every line and marks the one the parser stopped at', async () => {
    const editor = mount(CodeEditor, { props: { modelValue: 'a\nb\nc\nd', label: 'Definitions', errorLine: 3 } });
    const gutter = editor.findAll('.gutter div');
    expect(gutter.map((g) => g.text())).toEqual(['1', '2', '3', '4']);
    expect(gutter.map((g) => g.classes('error-line'))).toEqual([false, false, true, false]);
    expect(editor.find('textarea').attributes('aria-invalid')).toBe('true');
    await editor.find('textarea').setValue('x\ny');
    expect(editor.emitted('update:modelValue')).toEqual([['x\ny']]);
  });

  it('Pager names its landmark, counts from one and offers only the pages that exist', async () => {
    const pager = mount(Pager, { props: { label: 'Modules pages', offset: 0, limit: 25, count: 0, total: 0 } });
    expect(pager.find('nav').attributes('aria-label')).toBe('Modules pages');
    expect(pager.text()).toContain('0–0 of 0');
    expect(pager.findAll('button').map((b) => b.attributes('disabled') !== undefined)).toEqual([true, true]);
    await pager.setProps({ offset: 25, count: 25, total: 75 });
    expect(pager.text()).toContain('26–50 of 75');
    const [prev, next] = pager.findAll('button');
    await prev!.trigger('click');
    await next!.trigger('click');
    expect(pager.emitted('page')).toEqual([[0], [50]]);
  });

  it('StatusBadge shows the state word, coloured by what the state means', () => {
    const cases: [string, string][] = [['active', 'ok'], ['failed', 'bad'], ['backing off', 'warn'], ['running', 'info'], ['pending', 'neutral']];
    for (const [status, tone] of cases) {
      const badge = mount(StatusBadge, { props: { status } });
      expect(badge.text()).toBe(status);
      expect(badge.classes()).toEqual(['badge', tone]);
    }
  });

  it('BarChart draws bars in proportion to the largest, labelled for screen readers', () => {
    const chart = mount(BarChart, { props: { title: 'Storage', bars: [{ label: 'a', value: 100 }, { label: 'b', value: 25 }], format: (v: number) => `${v} B` } });
    const widths = chart.findAll('rect').map((r) => Number(r.attributes('width')));
    expect(widths[1]! / widths[0]!).toBeCloseTo(0.25);
    expect(chart.find('svg').attributes('aria-label')).toBe('Storage');
    expect(chart.find('figcaption').text()).toContain('b: 25 B');
  });
});
