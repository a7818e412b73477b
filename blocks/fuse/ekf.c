/* The pose filter of fuse: formulas in ekf.h. Plain 3x3 arithmetic, no
 * allocation: cheap enough to run at every IMU sample. */
#include <math.h>
#include <string.h>

#include "ekf.h"

/* P = (P + P') / 2: keeps rounding from making P asymmetric over hours. */
static void symmetrize(double P[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            P[i][j] = P[j][i] = (P[i][j] + P[j][i]) / 2;
}

void ekf_init(ekf *f, const double pose[3], double pos_sd, double heading_sd, ekf_noise noise)
{
    memset(f, 0, sizeof *f);
    memcpy(f->s, pose, sizeof f->s);
    f->P[0][0] = f->P[1][1] = pos_sd * pos_sd;
    f->P[2][2] = heading_sd * heading_sd;
    f->noise = noise;
}

void ekf_predict(ekf *f, double v, double w, double dt)
{
    if (!(dt > 0))
        return;
    double m = f->s[2] + w * dt / 2, c = cos(m), sn = sin(m);
    double F[3][3] = {{1, 0, -v * dt * sn}, {0, 1, v * dt * c}, {0, 0, 1}};
    double G[3][2] = {{dt * c, -v * dt * dt / 2 * sn}, {dt * sn, v * dt * dt / 2 * c}, {0, dt}};
    double q[2] = {f->noise.speed * f->noise.speed / dt, f->noise.yaw_rate * f->noise.yaw_rate / dt};
    double FP[3][3] = {{0}}, P[3][3] = {{0}};
    f->s[0] += v * dt * c;
    f->s[1] += v * dt * sn;
    f->s[2] = remainder(f->s[2] + w * dt, 2 * M_PI);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                FP[i][j] += F[i][k] * f->P[k][j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            for (int k = 0; k < 3; k++)
                P[i][j] += FP[i][k] * F[j][k];
            P[i][j] += G[i][0] * q[0] * G[j][0] + G[i][1] * q[1] * G[j][1];
        }
    memcpy(f->P, P, sizeof P);
    symmetrize(f->P);
}

void ekf_correct_position(ekf *f, double x, double y)
{
    double r = f->noise.position * f->noise.position;
    double S[2][2] = {{f->P[0][0] + r, f->P[0][1]}, {f->P[1][0], f->P[1][1] + r}};
    double det = S[0][0] * S[1][1] - S[0][1] * S[1][0];
    if (!(det > 0))
        return; /* cannot happen with r > 0; never divide by it */
    double Si[2][2] = {{S[1][1] / det, -S[0][1] / det}, {-S[1][0] / det, S[0][0] / det}};
    double K[3][2], e[2] = {x - f->s[0], y - f->s[1]}, P[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            K[i][j] = f->P[i][0] * Si[0][j] + f->P[i][1] * Si[1][j];
    for (int i = 0; i < 3; i++)
        f->s[i] += K[i][0] * e[0] + K[i][1] * e[1];
    f->s[2] = remainder(f->s[2], 2 * M_PI);
    for (int i = 0; i < 3; i++) /* (I - K H) P, H picks x and y */
        for (int j = 0; j < 3; j++)
            P[i][j] = f->P[i][j] - K[i][0] * f->P[0][j] - K[i][1] * f->P[1][j];
    memcpy(f->P, P, sizeof P);
    symmetrize(f->P);
}
