// Types the dashboards of deploy/grafana are checked against (tests/deploy/test_grafana.py
// generates one .ts file per dashboard that assigns its JSON, as object literals, to these
// types and runs `tsc --noEmit --strict`). Object literals get excess-property checks, so a
// misspelt or unknown key fails like a wrong type does.
import type { Dashboard, DataQuery, DataSourceRef } from '@grafana/schema';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type {
  Options as TimeSeriesOptions,
  FieldConfig as TimeSeriesFieldConfig,
} from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
import type { Options as GaugeOptions } from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type { Options as BarGaugeOptions } from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';

// The schema's string enums (e.g. BigValueColorMode) only accept enum members in TypeScript;
// JSON holds their values. `${E}` turns a string enum into the union of its values.
export type Json<T> = T extends string
  ? `${T}`
  : T extends ReadonlyArray<infer U>
    ? Array<Json<U>>
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

export type DashboardJson = Json<Dashboard>;

// @grafana/schema no longer ships the Prometheus query model (it moved to the datasource
// plugin), so this is Grafana's PromQuery (public/app/plugins/datasource/prometheus), on
// the schema's DataQuery base.
export interface PromQuery extends DataQuery {
  datasource?: DataSourceRef;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  exemplar?: boolean;
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
  intervalFactor?: number;
  editorMode?: 'code' | 'builder';
}

export type PanelOptions = {
  stat: Json<StatOptions>;
  timeseries: Json<TimeSeriesOptions>;
  gauge: Json<GaugeOptions>;
  bargauge: Json<BarGaugeOptions>;
};

export type PanelCustomFieldConfig = {
  stat: Record<string, never>;
  timeseries: Json<TimeSeriesFieldConfig>;
  gauge: Record<string, never>;
  bargauge: Record<string, never>;
};
