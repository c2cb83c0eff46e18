/** The outcome of a statistical test. */
export interface TestResult {
  /** The test statistic, on scipy's scale for the same test. */
  statistic: number;
  /** Probability, under "same distribution", of a statistic at least as extreme. */
  pValue: number;
}
