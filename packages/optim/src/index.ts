export { GradScaler, type GradScalerOptions, type GradScalerStateDict, type Scalable } from "./grad-scaler.js";
export { ChainedScheduler, SequentialLR } from "./lr-scheduler/combine.js";
export { CosineAnnealingLR, CosineAnnealingWarmRestarts } from "./lr-scheduler/cosine.js";
export { CyclicLR, type CyclicLROptions } from "./lr-scheduler/cyclic.js";
export { LambdaLR, type LrLambda, MultiplicativeLR } from "./lr-scheduler/lambda.js";
export { ConstantLR, LinearLR, PolynomialLR } from "./lr-scheduler/linear.js";
export { LRScheduler, type SchedulerOptions, type SchedulerStateDict } from "./lr-scheduler/lr-scheduler.js";
export { OneCycleLR, type OneCycleLROptions, type OneCyclePhase } from "./lr-scheduler/one-cycle.js";
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from "./lr-scheduler/reduce-on-plateau.js";
export { ExponentialLR, MultiStepLR, StepLR } from "./lr-scheduler/step.js";
export {
  type Closure,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type Params,
  required,
} from "./optimizer.js";
export { Adadelta, type AdadeltaOptions, type AdadeltaParamGroup } from "./optimizers/adadelta.js";
export { Adagrad, type AdagradOptions, type AdagradParamGroup } from "./optimizers/adagrad.js";
export { Adam, type AdamOptions, type AdamParamGroup } from "./optimizers/adam.js";
export { Adamax, type AdamaxOptions, type AdamaxParamGroup } from "./optimizers/adamax.js";
export { AdamW, type AdamWOptions, type AdamWParamGroup } from "./optimizers/adamw.js";
export { LBFGS, type LBFGSOptions, type LBFGSParamGroup } from "./optimizers/lbfgs.js";
export { NAdam, type NAdamOptions, type NAdamParamGroup } from "./optimizers/nadam.js";
export { RAdam, type RAdamOptions, type RAdamParamGroup } from "./optimizers/radam.js";
export { RMSprop, type RMSpropOptions, type RMSpropParamGroup } from "./optimizers/rmsprop.js";
export { SGD, type SGDOptions, type SGDParamGroup } from "./optimizers/sgd.js";
