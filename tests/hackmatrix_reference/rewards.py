"""RewardCalculator.swift, term for term (same float operations, same sum order)."""
from __future__ import annotations

from dataclasses import dataclass

STAGE_REWARDS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0)
CREDIT_GAIN = 0.05
ENERGY_GAIN = 0.05
CREDIT_HOLDING = 0.01
ENERGY_HOLDING = 0.01
DAMAGE_PENALTY_PER_HP = -1.0
HP_RECOVERY_PER_HP = 1.0
SIPHON_SUBOPTIMAL_PENALTY = -0.5
RESET_AT_2HP_PENALTY = -0.3
SIPHON_CAUSED_DEATH_PENALTY = -10.0
STEP_PENALTY = -0.01


@dataclass
class RewardBreakdown:
    """RewardCalculator.swift ``RewardBreakdown`` (all 0 by default, as Swift's
    ``RewardBreakdown()``: a failed action totals 0, with no step penalty)."""

    step_penalty: float = 0.0
    stage_completion: float = 0.0
    score_gain: float = 0.0
    kills: float = 0.0
    data_siphon_collected: float = 0.0
    distance_shaping: float = 0.0
    victory: float = 0.0
    death_penalty: float = 0.0
    resource_gain: float = 0.0
    resource_holding: float = 0.0
    damage_penalty: float = 0.0
    hp_recovery: float = 0.0
    siphon_quality: float = 0.0
    program_waste: float = 0.0
    siphon_death_penalty: float = 0.0

    @property
    def total(self) -> float:
        """RewardBreakdown.total (Swift's summation order)."""
        return (self.step_penalty + self.stage_completion + self.score_gain + self.kills
                + self.data_siphon_collected + self.distance_shaping + self.victory
                + self.death_penalty + self.resource_gain + self.resource_holding
                + self.damage_penalty + self.hp_recovery + self.siphon_quality
                + self.program_waste + self.siphon_death_penalty)

    def info(self) -> dict:
        """HeadlessGame.buildInfoDict's ``reward_breakdown`` (Swift's keys)."""
        return {
            "stage": self.stage_completion, "score": self.score_gain, "kills": self.kills,
            "dataSiphon": self.data_siphon_collected, "distance": self.distance_shaping,
            "victory": self.victory, "death": self.death_penalty,
            "resourceGain": self.resource_gain, "resourceHolding": self.resource_holding,
            "damagePenalty": self.damage_penalty, "hpRecovery": self.hp_recovery,
            "siphonQuality": self.siphon_quality, "programWaste": self.program_waste,
            "siphonDeathPenalty": self.siphon_death_penalty,
        }


def calculate(old_score=0, current_score=0, current_stage=1, old_hp=3, current_hp=3,
              old_credits=0, current_credits=0, old_energy=0, current_energy=0,
              player_died=False, game_won=False, stage_advanced=False, blocks_siphoned=0,
              programs_acquired=0, credits_gained=0, energy_gained=0, total_kills=0,
              data_siphon_collected=False, distance_to_exit_delta=0, siphon_was_used=False,
              siphon_was_optimal=True, siphon_missed_credits=0, siphon_missed_energy=0,
              reset_was_wasteful=False, died_to_siphon_enemy=False,
              stage8_reward_100=False) -> RewardBreakdown:
    """RewardCalculator.calculate. ``current_stage`` is the stage *after* the
    action (after completeStage). ``blocks_siphoned``, ``programs_acquired``,
    ``credits_gained`` and ``energy_gained`` are accepted and unused, as in Swift."""
    b = RewardBreakdown()
    b.step_penalty = STEP_PENALTY
    if stage_advanced:
        completed = current_stage - 1
        # SWIFT-BUG: completing stage 8 leaves currentStage at 8 (completeStage
        # does not advance it on victory), so completed = 7 and the last stage
        # pays 64, never 100. Fix: Fixes.stage8_reward_100.
        if game_won and stage8_reward_100:
            completed = current_stage
        if 1 <= completed <= 8:
            b.stage_completion = STAGE_REWARDS[completed - 1]
    b.score_gain = float(current_score - old_score) * 0.5
    b.kills = float(total_kills) * 0.3
    if data_siphon_collected:
        b.data_siphon_collected = 1.0
    b.distance_shaping = float(max(distance_to_exit_delta, 0)) * 0.05
    if game_won:
        b.victory = 500.0 + float(current_score) * 100.0
    if player_died:
        cumulative = 0.0
        for i in range(current_stage - 1):
            if i < len(STAGE_REWARDS):
                cumulative += STAGE_REWARDS[i]
        b.death_penalty = -cumulative * 0.5
    b.resource_gain = (float(current_credits - old_credits) * CREDIT_GAIN
                       + float(current_energy - old_energy) * ENERGY_GAIN)
    if stage_advanced:
        b.resource_holding = (float(current_credits) * CREDIT_HOLDING
                              + float(current_energy) * ENERGY_HOLDING)
    hp_lost = old_hp - current_hp
    b.damage_penalty = float(hp_lost) * DAMAGE_PENALTY_PER_HP if hp_lost > 0 else 0.0
    hp_gained = current_hp - old_hp
    b.hp_recovery = float(hp_gained) * HP_RECOVERY_PER_HP if hp_gained > 0 else 0.0
    if siphon_was_used and not siphon_was_optimal:
        missed = (float(siphon_missed_credits) * CREDIT_GAIN
                  + float(siphon_missed_energy) * ENERGY_GAIN)
        b.siphon_quality = SIPHON_SUBOPTIMAL_PENALTY * missed
    b.program_waste = RESET_AT_2HP_PENALTY if reset_was_wasteful else 0.0
    b.siphon_death_penalty = SIPHON_CAUSED_DEATH_PENALTY if died_to_siphon_enemy else 0.0
    return b
