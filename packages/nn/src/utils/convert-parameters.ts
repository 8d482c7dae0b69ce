import { noGrad } from "@dl/autograd";
import { ArgumentError, DeviceError, ShapeError, Tensor, cat, zeros } from "@dl/tensor";

/**
 * torch.nn.utils.parameters_to_vector: all parameters flattened and concatenated into one 1-D
 * tensor (differentiable; a copy). All parameters must be on one device.
 */
export function parametersToVector(parameters: Iterable<Tensor>): Tensor {
  const op = "parametersToVector";
  const list = [...parameters];
  for (const p of list) if (!(p instanceof Tensor)) throw new ArgumentError(op, `expected Tensors, got ${typeof p}`);
  const device = list[0]?.device;
  for (const p of list) {
    if (p.device !== device)
      throw new DeviceError(op, `Found two parameters on different devices (${device} and ${p.device}), this is currently not supported.`);
  }
  if (list.length === 0) return zeros([0]);
  return cat(list.map((p) => p.reshape(-1)));
}

/**
 * torch.nn.utils.vector_to_parameters: points each parameter's data at the next slice of `vec`
 * (param.data = vec[i:i + n].view_as(param)), so the parameters share vec's storage afterwards.
 * Unlike PyTorch, the vector must hold exactly as many elements as the parameters.
 */
export function vectorToParameters(vec: Tensor, parameters: Iterable<Tensor>): void {
  const op = "vectorToParameters";
  if (!(vec instanceof Tensor)) throw new ArgumentError(op, `expected vec to be a Tensor, but got: ${vec === null ? "null" : typeof vec}`);
  const list = [...parameters];
  const total = list.reduce((n, p) => n + p.numel(), 0);
  if (vec.numel() !== total) throw new ShapeError(op, `vec has ${vec.numel()} elements, but the parameters hold ${total}`);
  for (const p of list) {
    if (p.device !== vec.device)
      throw new DeviceError(
        op,
        `Found two parameters on different devices (${vec.device} and ${p.device}), this is currently not supported.`,
      );
  }
  noGrad(() => {
    const flat = vec.detach().reshape(-1);
    let at = 0;
    for (const p of list) {
      const n = p.numel();
      p.setData(flat.slice(0, at, at + n).view(p.shape));
      at += n;
    }
  });
}
