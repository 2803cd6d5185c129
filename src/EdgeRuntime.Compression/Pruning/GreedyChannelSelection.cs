using EdgeRuntime.Compression.Distillation;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Chooses the channels to remove one at a time, each time the one whose removal least increases the
/// consumers' reconstruction error once their remaining columns are refitted (group Optimal Brain Surgeon
/// on H = X^T X of each consumer's inputs). Unlike ranking every channel alone by W[:,c]^2·H_cc, a channel
/// that its correlated neighbours can stand in for is removed first, which is what the later
/// least-squares refit can exploit.
/// </summary>
internal static class GreedyChannelSelection
{
    /// <summary>One consumer: its weights W [outputs, columns] row-major, H of its inputs, and the columns channel c feeds.</summary>
    public sealed record Consumer(float[] Weights, int Outputs, int Columns, double[] Gram, Func<int, int[]> ColumnsOf);

    /// <returns>Removal step of each channel (0 first); channels never removed get int.MaxValue.</returns>
    public static int[] RemovalOrder(int channels, int remove, IReadOnlyList<Consumer> consumers, double damping)
    {
        var states = consumers.Select(c => new State(c, damping)).ToList();
        var order = Enumerable.Repeat(int.MaxValue, channels).ToArray();
        for (int step = 0; step < remove; step++)
        {
            var costs = new double[channels];
            Parallel.For(0, channels, c =>
            {
                costs[c] = order[c] != int.MaxValue ? double.PositiveInfinity : states.Sum(s => s.Cost(c));
            });
            int best = 0;
            for (int c = 1; c < channels; c++)
            {
                if (costs[c] < costs[best])
                {
                    best = c;
                }
            }
            order[best] = step;
            foreach (var state in states)
            {
                state.Remove(best);
            }
        }
        return order;
    }

    private sealed class State
    {
        private readonly Consumer _consumer;
        private readonly double[] _w;
        private readonly double[] _inverse;
        private readonly int _n;
        private readonly int _m;

        public State(Consumer consumer, double damping)
        {
            _consumer = consumer;
            _n = consumer.Columns;
            _m = consumer.Outputs;
            _w = [.. consumer.Weights.Select(v => (double)v)];
            var h = (double[])consumer.Gram.Clone();
            for (int j = 0; j < _n; j++)
            {
                if (h[j * _n + j] == 0)
                {
                    // An input that is always zero: keeps H invertible, its removal costs nothing.
                    h[j * _n + j] = 1;
                    for (int o = 0; o < _m; o++)
                    {
                        _w[o * _n + j] = 0;
                    }
                }
            }
            _inverse = DenseLinearAlgebra.InverseFromCholesky(DenseLinearAlgebra.DampedCholesky(h, _n, damping), _n);
        }

        /// <summary>sum over outputs o of w_oB^T [(H^-1)_BB]^-1 w_oB: the error added by removing columns B with the rest refitted.</summary>
        public double Cost(int channel)
        {
            var block = _consumer.ColumnsOf(channel);
            int b = block.Length;
            var factor = BlockFactor(block);
            var rhs = new double[b * _m];
            for (int t = 0; t < b; t++)
            {
                for (int o = 0; o < _m; o++)
                {
                    rhs[t * _m + o] = _w[o * _n + block[t]];
                }
            }
            var solved = (double[])rhs.Clone();
            DenseLinearAlgebra.SolveCholesky(factor, b, solved, _m);
            double cost = 0;
            for (int i = 0; i < rhs.Length; i++)
            {
                cost += rhs[i] * solved[i];
            }
            return cost;
        }

        /// <summary>Removes the channel's columns: W -= W_B [(H^-1)_BB]^-1 (H^-1)_B,: and H^-1 loses B by a Schur complement.</summary>
        public void Remove(int channel)
        {
            var block = _consumer.ColumnsOf(channel);
            int b = block.Length;
            var factor = BlockFactor(block);
            // rows = [(H^-1)_BB]^-1 (H^-1)_B,:  [b, n]
            var rows = new double[b * _n];
            for (int t = 0; t < b; t++)
            {
                Array.Copy(_inverse, block[t] * _n, rows, t * _n, _n);
            }
            DenseLinearAlgebra.SolveCholesky(factor, b, rows, _n);
            var blockRows = new double[b * _n];
            for (int t = 0; t < b; t++)
            {
                Array.Copy(_inverse, block[t] * _n, blockRows, t * _n, _n);
            }
            Parallel.For(0, _n, i =>
            {
                for (int t = 0; t < b; t++)
                {
                    double left = blockRows[t * _n + i];
                    if (left == 0)
                    {
                        continue;
                    }
                    for (int j = 0; j < _n; j++)
                    {
                        _inverse[i * _n + j] -= left * rows[t * _n + j];
                    }
                }
            });
            for (int o = 0; o < _m; o++)
            {
                for (int t = 0; t < b; t++)
                {
                    double left = _w[o * _n + block[t]];
                    for (int j = 0; j < _n; j++)
                    {
                        _w[o * _n + j] -= left * rows[t * _n + j];
                    }
                }
            }
            // Removed columns: no weight, and unit diagonal so later blocks that reach them stay solvable.
            foreach (int j in block)
            {
                for (int k = 0; k < _n; k++)
                {
                    _inverse[j * _n + k] = 0;
                    _inverse[k * _n + j] = 0;
                }
                _inverse[j * _n + j] = 1;
                for (int o = 0; o < _m; o++)
                {
                    _w[o * _n + j] = 0;
                }
            }
        }

        private double[] BlockFactor(int[] block)
        {
            int b = block.Length;
            var sub = new double[b * b];
            for (int s = 0; s < b; s++)
            {
                for (int t = 0; t < b; t++)
                {
                    sub[s * b + t] = _inverse[block[s] * _n + block[t]];
                }
            }
            return DenseLinearAlgebra.Cholesky(sub, b) ?? DenseLinearAlgebra.DampedCholesky(sub, b, 1e-6);
        }
    }
}
