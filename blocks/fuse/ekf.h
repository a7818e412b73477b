/* An extended Kalman filter over a planar pose (x, y, heading), driven by a
 * speed and a yaw rate and corrected by position fixes. Private to fuse.
 *
 * State s = (x, y, h): metres east and north, heading in rad from east
 * (counter-clockwise, wrapped to [-pi, pi]); covariance P.
 *
 * Predict over dt with speed v and yaw rate w (unicycle, midpoint heading
 * m = h + w dt / 2):
 *   x += v dt cos m,  y += v dt sin m,  h += w dt
 *   P = F P F' + G diag(sv^2 / dt, sw^2 / dt) G'
 *   F = d(s')/d(s) = [1 0 -v dt sin m; 0 1 v dt cos m; 0 0 1]
 *   G = d(s')/d(v, w) = [dt cos m  -v dt^2/2 sin m; dt sin m  v dt^2/2 cos m; 0 dt]
 * sv and sw are white-noise densities (m/s/sqrt(Hz), rad/s/sqrt(Hz)): the
 * mean speed over dt is off by sv / sqrt(dt), so the filter behaves the same
 * whatever the IMU rate.
 * Correct with a position z = (zx, zy) of standard deviation sz per axis
 * (H = [I2 0], R = sz^2 I2):
 *   S = H P H' + R,  K = P H' S^-1,  s += K (z - H s),  P = (I - K H) P */
#ifndef MQS_BLOCKS_FUSE_EKF_H
#define MQS_BLOCKS_FUSE_EKF_H

typedef struct ekf_noise {
    double speed;    /* sv: noise density of the speed, m/s/sqrt(Hz) */
    double yaw_rate; /* sw: of the yaw rate, rad/s/sqrt(Hz) */
    double position; /* sz: of a position fix per axis, m */
} ekf_noise;

typedef struct ekf {
    double s[3];    /* x, y, heading */
    double P[3][3]; /* covariance of s */
    ekf_noise noise;
} ekf;

/* Start at `pose` with standard deviations pos_sd (x and y) and heading_sd. */
void ekf_init(ekf *f, const double pose[3], double pos_sd, double heading_sd, ekf_noise noise);

/* Move the state dt seconds on at speed v (m/s) and yaw rate w (rad/s); nothing for dt <= 0. */
void ekf_predict(ekf *f, double v, double w, double dt);

/* Correct with a position fix (x, y) in metres. */
void ekf_correct_position(ekf *f, double x, double y);

#endif
