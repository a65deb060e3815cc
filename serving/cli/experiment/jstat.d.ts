/** The slice of jstat 1.9 (no bundled types) that the experiment statistics use. */
declare module "jstat" {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  export const jStat: {
    normal: Distribution;
    studentt: Distribution;
    noncentralt: { cdf(x: number, dof: number, ncp: number): number };
  };
}
