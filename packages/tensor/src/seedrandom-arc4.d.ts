// seedrandom's ARC4 generator alone (its main entry also bundles six generators dl does not use).
declare module "seedrandom/seedrandom.js" {
  import seedrandom from "seedrandom";
  export default seedrandom;
}
