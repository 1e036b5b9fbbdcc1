// Prints the folder of the converted tiny-random test model (converted once, cached in .cache/test-models).
// Usage: node --import tsx test/e2e/testModel.ts
import { tinyRandomModel } from '../helpers/models';

void tinyRandomModel().then((dir) => console.log(dir));
